"""business_hours: take the `open` or `closed` exit by the flow's weekly schedule and holidays (a holiday's name
and source go in the log, for the call's timeline)."""

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
        data: dict[str, object] = {"step": self.id, "open": is_open}
        holiday = schedule.holiday_on(schedule.local(ctx.at).date()) if schedule is not None else None
        if holiday is not None:  # the timeline says which holiday (and where it came from) decided the day
            data["holiday"] = {"name": holiday.name, "source": holiday.source}
        return Outcome(
            actions=[Log(event="business_hours", data=data)], next=self.spec.get("open" if is_open else "closed")
        )
