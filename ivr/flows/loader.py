"""Load a flow file into an engine Flow, or report every problem with its `file:line:column`.

Order: YAML syntax -> JSON Schema -> building steps -> time zone / regex / graph / template checks
-> subflows named by `goto` (loaded from the same directory, recursively, each checked the same way).
A flow with any problem is never returned, so a broken flow cannot reach a caller.
"""
from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..engine.flow import Flow, flatten
from ..engine.schedule import Schedule
from ..engine.steps import build_step
from ..engine.template import TemplateError
from .graph import graph_problems, regex_problems
from .schema import schema_problems
from .source import Located, Problem, read_yaml


class FlowInvalid(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


def _zone(name: str, path: tuple, located: Located, problems: list[Problem]):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(located.problem(path, f"{'.'.join(path)}: unknown time zone {name!r} "
                                              f"(use an IANA name such as 'Europe/London')"))
        return None


def _contacts(spec: dict) -> tuple[dict, dict]:
    lists, names = {}, {}
    for list_name, entries in spec.items():
        numbers = []
        for entry in entries:
            number = entry if isinstance(entry, str) else entry["number"]
            numbers.append(number)
            if isinstance(entry, dict) and entry.get("name"):
                names[number] = entry["name"]
        lists[list_name] = tuple(numbers)
    return lists, names


def build_flow(text: str, filename: str, flows_dir: Path | None = None, is_subflow: bool = False,
               library: dict | None = None, revision: str = "file") -> Flow:
    """Parse and check one flow (and its subflows); raise FlowInvalid listing every problem."""
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
    steps = {}
    for step_id, spec in data["steps"].items():
        try:
            steps[step_id] = build_step(step_id, spec)
        except TemplateError as exc:
            problems.append(located.problem(("steps", step_id), f"steps.{step_id}: {exc}"))
        except ValueError as exc:
            problems.append(located.problem(("steps", step_id), f"steps.{step_id}: {exc}"))
    problems += regex_problems(data, located)
    tz = _zone(data.get("timezone", "UTC"), ("timezone",), located, problems)
    schedule = None
    if "business_hours" in data:
        spec = data["business_hours"]
        zone = _zone(spec["timezone"], ("business_hours", "timezone"), located, problems)
        if zone is not None:
            try:
                schedule = Schedule.from_spec(spec, zone)
            except ValueError as exc:
                problems.append(located.problem(("business_hours",), f"business_hours: {exc}"))
        if "timezone" not in data:
            tz = zone
    variables = flatten(data.get("variables", {}))
    if len(steps) == len(data["steps"]):
        problems += graph_problems(data, steps, located, set(variables), is_subflow)
    if problems:
        raise FlowInvalid(sorted(problems))
    contacts, names = _contacts(data.get("contacts", {}))
    flow = Flow(id=data["id"], start=data["start"], steps=steps, description=data.get("description", ""),
                language=data.get("language", "en-US"), voice=data.get("voice", ""),
                timezone=data.get("timezone", schedule.timezone if schedule else "UTC"), tz=tz, variables=variables,
                contacts=contacts, contact_names=names, schedule=schedule, webhooks=tuple(data.get("webhooks", ())),
                max_steps=int(data.get("max_steps", 200)), speech=bool(data.get("speech", True)), revision=revision,
                source=filename, library=library if library is not None else {})
    flow.library.setdefault(flow.id, flow)
    _load_subflows(flow, located, flows_dir)
    return flow


def _load_subflows(flow: Flow, located: Located, flows_dir: Path | None) -> None:
    problems = []
    for step_id, step in flow.steps.items():
        if step.kind != "goto" or step.flow_id in flow.library:
            continue
        path = (flows_dir / f"{step.flow_id}.yaml") if flows_dir is not None else None
        if path is None or not path.is_file():
            problems.append(located.problem(("steps", step_id, "flow"),
                                            f"steps.{step_id}.flow: no flow file '{step.flow_id}.yaml' next to "
                                            f"this flow"))
            continue
        try:
            build_flow(path.read_text(encoding="utf-8"), str(path), flows_dir, is_subflow=True,
                       library=flow.library, revision=flow.revision)
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


def validate_paths(paths) -> list[Problem]:
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
