"""Load a flow file into an engine Flow, or report every problem with its `file:line:column`.

Order: YAML syntax -> JSON Schema -> building steps -> time zone / regex / audio path / graph / template checks
-> subflows named by `goto` (loaded from the same directory, recursively, each checked the same way).
A flow with any problem is never returned, so a broken flow cannot reach a caller.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..engine.flow import Flow, flatten
from ..engine.steps import Step, build_step
from ..engine.template import TemplateError, compile_template
from ..phone.policy import known_region
from .assemble import flow_model
from .audio import audio_problems
from .graph import graph_problems, regex_problems, subflow_recursion
from .hours import schedule_of
from .schema import schema_problems
from .source import Located, NodePath, Problem, read_yaml


class FlowInvalid(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


def _failing_template(spec: Any, path: NodePath = ()) -> NodePath:
    """The path of the first text in a step spec that is not a valid template (to point at the field)."""
    if isinstance(spec, dict):
        items: Iterable[tuple[Any, Any]] = spec.items()
    elif isinstance(spec, list):
        items = enumerate(spec)
    else:
        try:
            compile_template(spec)
        except TemplateError:
            return path
        return ()
    for key, value in items:
        found = _failing_template(value, path + (key,))
        if found:
            return found
    return ()


def _subflow_names(data: dict[str, Any], flows_dir: Path | None, seen: set[str]) -> set[str]:
    """Variables that subflows entered by goto define (their defaults, save_as, set): the caller may use them
    after the subflow returns. Unreadable subflows add nothing here; loading them reports their problems."""
    names: set[str] = set()
    for spec in data.get("steps", {}).values():
        flow_id = spec.get("flow") if isinstance(spec, dict) and spec.get("type") == "goto" else None
        if not isinstance(flow_id, str) or flow_id in seen or flows_dir is None:
            continue
        seen.add(flow_id)
        try:
            sub, _ = read_yaml((flows_dir / f"{flow_id}.yaml").read_text(encoding="utf-8"), flow_id)
        except (OSError, UnicodeDecodeError):
            continue
        if not isinstance(sub, dict):
            continue
        names.update(flatten(sub.get("variables") or {}) if isinstance(sub.get("variables"), dict) else ())
        for step in (sub.get("steps") or {}).values() if isinstance(sub.get("steps"), dict) else ():
            if isinstance(step, dict):
                names.update([step["save_as"]] if isinstance(step.get("save_as"), str) else ())
                names.update(step["vars"] if step.get("type") == "set" and isinstance(step.get("vars"), dict) else ())
        names |= _subflow_names(sub, flows_dir, seen)
    return names


def _build_steps(data: dict[str, Any], located: Located, problems: list[Problem]) -> dict[str, Step]:
    """The flow's steps; a step that cannot be built adds its problem instead (at the field, where known)."""
    steps = {}
    for step_id, spec in data["steps"].items():
        try:
            steps[step_id] = build_step(step_id, spec)
        except re.error:
            pass  # regex_problems reports it at the pattern itself
        except TemplateError as exc:
            where = ("steps", step_id) + _failing_template(spec)
            problems.append(located.problem(where, f"{'.'.join(map(str, where))}: {exc}"))
        except ValueError as exc:
            problems.append(located.problem(("steps", step_id), f"steps.{step_id}: {exc}"))
    return steps


def build_flow(
    text: str,
    filename: str,
    flows_dir: Path | None = None,
    is_subflow: bool = False,
    library: dict[str, Flow] | None = None,
    revision: str = "file",
) -> Flow:
    """Parse and check one flow (and its subflows); raise FlowInvalid listing every problem."""
    is_root = library is None  # the flow a call starts in: it checks goto loops across all the flows it enters
    data, located = read_yaml(text, filename)
    problems = list(located.problems)
    if data is None:
        raise FlowInvalid(problems)
    if not isinstance(data, dict):
        raise FlowInvalid(problems + [located.problem((), "a flow must be a mapping with id, start and steps")])
    problems += schema_problems(data, located)
    is_subflow = is_subflow or data.get("subflow") is True
    if problems:
        raise FlowInvalid(sorted(problems))
    steps = _build_steps(data, located, problems)
    problems += regex_problems(data, located)
    problems += audio_problems(data, located, flows_dir)
    schedule, tz = schedule_of(data, located, problems)
    problems += _country_problems(data, located)
    variables = flatten(data.get("variables", {}))
    if len(steps) == len(data["steps"]):
        known = set(variables) | _subflow_names(data, flows_dir, {data["id"]})
        problems += graph_problems(data, steps, located, known, is_subflow)
    if problems:
        raise FlowInvalid(sorted(problems))
    library = library if library is not None else {}
    flow = flow_model(data, steps, variables, schedule, tz, revision=revision, source=filename, library=library)
    flow.library.setdefault(flow.id, flow)
    _load_subflows(flow, located, flows_dir)
    recursion = subflow_recursion(flow, located) if is_root else []
    if recursion:
        raise FlowInvalid(recursion)
    return flow


def _country_problems(data: dict[str, Any], located: Located) -> list[Problem]:
    if "country" not in data or known_region(data["country"]):
        return []
    return [located.problem(("country",), f"country: {data['country']!r} is not a known ISO 3166 code, e.g. GB")]


def _load_subflows(flow: Flow, located: Located, flows_dir: Path | None) -> None:
    problems = []
    for step_id, step in flow.steps.items():
        if step.kind != "goto" or step.flow_id in flow.library:
            continue
        path = (flows_dir / f"{step.flow_id}.yaml") if flows_dir is not None else None
        if path is None or not path.is_file():
            problems.append(
                located.problem(
                    ("steps", step_id, "flow"),
                    f"steps.{step_id}.flow: no flow file '{step.flow_id}.yaml' next to this flow",
                )
            )
            continue
        try:
            build_flow(
                path.read_text(encoding="utf-8"),
                str(path),
                flows_dir,
                is_subflow=True,
                library=flow.library,
                revision=flow.revision,
            )
        except FlowInvalid as exc:
            problems += exc.problems
    if problems:
        raise FlowInvalid(problems)


def load_flow(path: str | Path, revision: str = "file") -> Flow:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowInvalid([Problem(str(path), 1, 1, f"cannot read flow file: {exc}")]) from None
    return build_flow(text, str(path), path.parent, revision=revision)


def validate_text(text: str, filename: str, flows_dir: Path | None = None) -> list[Problem]:
    try:
        build_flow(text, filename, flows_dir)
    except FlowInvalid as exc:
        return exc.problems
    return []


def validate_paths(paths: Iterable[str | Path]) -> list[Problem]:
    """Validate files and directories (every *.yaml / *.yml inside); returns all problems."""
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
        for file in files:
            try:
                load_flow(file)
            except FlowInvalid as exc:
                problems += exc.problems
    return problems
