"""business_hours: take the `open` or `closed` exit by the flow's weekly schedule and holidays."""

from __future__ import annotations

from ..actions import Log
from .base import Context, Outcome, Step


class BusinessHours(Step):
    kind = "business_hours"

    def exits(self) -> dict[str, str]:
        return {key: self.spec[key] for key in ("open", "closed") if key in self.spec}

    def enter(self, ctx: Context) -> Outcome:
        schedule = ctx.flow.schedule
        is_open = schedule is not None and schedule.is_open(ctx.at)
        exit_name = "open" if is_open else "closed"
        return Outcome(
            actions=[Log(event="business_hours", data={"step": self.id, "open": is_open})],
            next=self.spec.get(exit_name),
        )
