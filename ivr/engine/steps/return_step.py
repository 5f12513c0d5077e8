"""return: leave a subflow and continue at the calling goto step's `next`."""

from __future__ import annotations

from ..states import End
from .base import Context, Outcome, Step


class Return(Step):
    kind = "return"
    terminal = True

    def enter(self, ctx: Context) -> Outcome:
        return Outcome(end=End.RETURN)
