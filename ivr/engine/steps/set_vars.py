"""set: assign variables from templates, then go on."""

from __future__ import annotations

from ..template import compile_template
from .base import Context, Outcome, Spec, Step, TemplateRefs


class SetStep(Step):
    kind = "set"

    def __init__(self, step_id: str, spec: Spec):
        super().__init__(step_id, spec)
        self.assignments = {name: compile_template(value) for name, value in spec.get("vars", {}).items()}

    def defines(self) -> tuple[str, ...]:
        return tuple(self.assignments)

    def templates(self) -> TemplateRefs:
        return [(("vars", name), t) for name, t in self.assignments.items()]

    def enter(self, ctx: Context) -> Outcome:
        rendered = {name: ctx.render(t) for name, t in self.assignments.items()}
        ctx.vars.update(rendered)
        return Outcome(next=self.spec.get("next"))
