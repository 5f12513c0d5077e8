"""The step registry: one table from step type name to the class that implements it (one file per type)."""

from __future__ import annotations

from .base import Context, Outcome, Spec, Step
from .branch import Branch
from .business_hours import BusinessHours
from .callback import Callback
from .collect_digits import CollectDigits
from .follow_up import FollowUp
from .goto import Goto
from .hangup import HangupStep
from .http import HttpStep
from .menu import Menu
from .queue import QueueStep
from .return_step import Return
from .say import SayStep
from .set_vars import SetStep
from .transfer import TransferStep
from .voicemail import Voicemail

STEP_TYPES: dict[str, type[Step]] = {
    cls.kind: cls
    for cls in (
        SayStep,
        Menu,
        CollectDigits,
        Branch,
        BusinessHours,
        SetStep,
        FollowUp,
        Callback,
        TransferStep,
        QueueStep,
        Voicemail,
        HttpStep,
        HangupStep,
        Goto,
        Return,
    )
}


def build_step(step_id: str, spec: Spec) -> Step:
    return STEP_TYPES[spec["type"]](step_id, spec)


__all__ = ["STEP_TYPES", "build_step", "Context", "Outcome", "Step"]
