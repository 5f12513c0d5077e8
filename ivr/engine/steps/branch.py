"""branch: the first rule whose conditions all hold picks the next step; `otherwise` catches the rest.

Conditions: a variable (equals / not_equals / in / matches / empty), the caller number (exact, prefix,
or membership of a named contact list), what the installation can deliver (`can: sms`), the channel,
the day of week, a time-of-day range, or a date, in the flow's time zone.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from ..actions import Log
from ..schedule import DAYS, parse_clock
from .base import Context, Outcome, Spec, Step


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _can(capabilities: dict[str, bool], names: list[str]) -> bool:
    """Every named capability works; a call that was told none (an old state, a bare test) assumes they all do."""
    return not capabilities or all(capabilities.get(name, False) for name in names)


class Rule:
    def __init__(self, when: dict[str, Any], target: str):
        self.when = when
        self.target = target
        self.pattern = re.compile(str(when["matches"])) if "matches" in when else None
        time_range = when.get("time")
        self.time = (parse_clock(time_range[0]), parse_clock(time_range[1])) if time_range else None

    def holds(self, ctx: Context, local: datetime) -> bool:
        when, state = self.when, ctx.state
        caller = state["caller"]
        if "var" in when:
            value = ctx.vars.get(when["var"], "")
            if "equals" in when and value != str(when["equals"]):
                return False
            if "not_equals" in when and value == str(when["not_equals"]):
                return False
            if "in" in when and value not in _as_list(when["in"]):
                return False
            if self.pattern is not None and not self.pattern.search(value):
                return False
            if "empty" in when and (value == "") != bool(when["empty"]):
                return False
        if "caller" in when and caller not in _as_list(when["caller"]):
            return False
        if "caller_prefix" in when and not any(caller.startswith(p) for p in _as_list(when["caller_prefix"])):
            return False
        if "caller_in" in when:
            lists = _as_list(when["caller_in"])
            if not any(caller in ctx.flow.contacts.get(name, ()) for name in lists):
                return False
        if "can" in when and not _can(state.get("capabilities") or {}, _as_list(when["can"])):
            return False
        if "channel" in when and state["channel"] not in _as_list(when["channel"]):
            return False
        if "days" in when and DAYS[local.weekday()] not in [d.lower()[:3] for d in _as_list(when["days"])]:
            return False
        if self.time is not None:
            start, end = self.time
            clock = local.time()
            inside = start <= clock < end if start < end else (clock >= start or clock < end)
            if not inside:
                return False
        if "date" in when and local.date().isoformat() not in _as_list(when["date"]):
            return False
        return True


class Branch(Step):
    kind = "branch"

    def __init__(self, step_id: str, spec: Spec):
        super().__init__(step_id, spec)
        self.rules = [Rule(rule.get("when", {}), rule["goto"]) for rule in spec.get("rules", [])]

    def exits(self) -> dict[str, str]:
        exits = {f"rules.{i}.goto": rule.target for i, rule in enumerate(self.rules)}
        if "otherwise" in self.spec:
            exits["otherwise"] = self.spec["otherwise"]
        return exits

    def enter(self, ctx: Context) -> Outcome:
        local = datetime.fromtimestamp(ctx.at, ctx.flow.tz or timezone.utc)
        for index, rule in enumerate(self.rules):
            if rule.holds(ctx, local):
                return Outcome(actions=[Log(event="branch", data={"step": self.id, "rule": index})], next=rule.target)
        return Outcome(
            actions=[Log(event="branch", data={"step": self.id, "rule": "otherwise"})], next=self.spec.get("otherwise")
        )
