"""The pure flow engine: `advance(flow, state, event) -> (state, actions)`. Standard library only, no I/O."""

from . import actions, events
from .flow import Flow
from .runner import advance, new_state

__all__ = ["advance", "new_state", "actions", "events", "Flow"]
