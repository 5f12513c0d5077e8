"""goto: enter another flow file (a subflow); when it reaches a `return` step, continue at `next`.

Variables are shared by the whole call; a subflow's `variables` fill in names the call does not have yet."""

from __future__ import annotations

from .base import Context, Outcome, Spec, Step


class Goto(Step):
    kind = "goto"

    def __init__(self, step_id: str, spec: Spec):
        super().__init__(step_id, spec)
        self.flow_id = spec["flow"]

    @property  # a class constant elsewhere; here it depends on the spec: without `next`, the subflow must end
    def terminal(self) -> bool:  # type: ignore[override]  # the call itself
        return "next" not in self.spec

    def enter(self, ctx: Context) -> Outcome:
        state = ctx.state
        state["stack"].append({"flow": state.get("current_flow") or state["flow_id"], "next": self.spec.get("next")})
        state["current_flow"] = self.flow_id
        subflow = ctx.flow.flow_for(self.flow_id)
        for name, value in subflow.variables.items():  # the subflow's own variables are defaults
            state["vars"].setdefault(name, value)
        return Outcome(next=subflow.start)
