"""Load a flow file into an engine Flow, or report every problem with its `file:line:column`.

Order: YAML syntax -> JSON Schema -> building steps (parts.py) -> regex / audio path / time zone and business
hours with their holidays (schedule_check.py) / languages (languages.py) / graph / template checks
-> subflows named by `goto` (loaded from the same directory, recursively, each checked the same way).
A flow with any problem is never returned, so a broken flow cannot reach a caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..engine.flow import Flow, flatten
from ..engine.language import LANGUAGE_VAR
from ..engine.schedule import Schedule
from ..engine.steps import Step
from ..phone.policy import known_region
from .audio import audio_problems
from .graph import graph_problems, regex_problems, subflow_recursion
from .holiday_sources import CalendarSource
from .languages import language_problems
from .parts import build_steps, make_flow, subflow_names
from .schedule_check import time_settings
from .schema import schema_problems
from .source import Located, Problem, read_yaml

Holidays = tuple["CalendarSource | None", "date | None"]  # the feed copies and the day holidays are resolved around


class FlowInvalid(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


def build_flow(
    text: str,
    filename: str,
    flows_dir: Path | None = None,
    is_subflow: bool = False,
    library: dict[str, Flow] | None = None,
    revision: str = "file",
    calendars: CalendarSource | None = None,
    today: date | None = None,
) -> Flow:
    """Parse and check one flow (and its subflows); raise FlowInvalid listing every problem.

    `calendars` gives the last good copies of `{ical: URL}` holiday feeds (none: those add no days); holidays
    from outside the file are resolved for the years around `today` (default: the date now)."""
    is_root = library is None  # the flow a call starts in: it checks goto loops across all the flows it enters
    data, located = read_yaml(text, filename)
    if not isinstance(data, dict):
        shape = [] if data is None else [located.problem((), "a flow must be a mapping with id, start and steps")]
        raise FlowInvalid(list(located.problems) + shape)
    steps, variables, tz, schedule = _checked_parts(data, located, flows_dir, is_subflow, (calendars, today))
    flow = make_flow(data, steps, variables, schedule, tz, filename, revision, library)
    flow.library.setdefault(flow.id, flow)
    _load_subflows(flow, located, flows_dir, (calendars, today))
    recursion = subflow_recursion(flow, located) if is_root else []
    if recursion:
        raise FlowInvalid(recursion)
    return flow


def _checked_parts(
    data: dict[str, Any], located: Located, flows_dir: Path | None, is_subflow: bool, holidays: Holidays
) -> tuple[dict[str, Step], dict[str, Any], ZoneInfo | None, Schedule | None]:
    """A flow file's steps, variables, time zone and schedule, once every check passed (else FlowInvalid with
    every problem)."""
    problems = list(located.problems)
    problems += schema_problems(data, located)
    is_subflow = is_subflow or data.get("subflow") is True
    if problems:
        raise FlowInvalid(sorted(problems))
    steps = build_steps(data, located, problems)
    problems += regex_problems(data, located)
    problems += audio_problems(data, located, flows_dir)
    tz, schedule = time_settings(data, located, problems, flows_dir, *holidays)
    problems += _country_problems(data, located) + language_problems(data, located)
    variables = flatten(data.get("variables", {}))
    if len(steps) == len(data["steps"]):
        known = set(variables) | subflow_names(data, flows_dir, {data["id"]}) | {LANGUAGE_VAR}
        problems += graph_problems(data, steps, located, known, is_subflow)
    if problems:
        raise FlowInvalid(sorted(problems))
    return steps, variables, tz, schedule


def _country_problems(data: dict[str, Any], located: Located) -> list[Problem]:
    if "country" not in data or known_region(data["country"]):
        return []
    return [located.problem(("country",), f"country: {data['country']!r} is not a known ISO 3166 code, e.g. GB")]


def _load_subflows(flow: Flow, located: Located, flows_dir: Path | None, holidays: Holidays) -> None:
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
                calendars=holidays[0],
                today=holidays[1],
            )
        except FlowInvalid as exc:
            problems += exc.problems
    if problems:
        raise FlowInvalid(problems)


def load_flow(
    path: str | Path, revision: str = "file", calendars: CalendarSource | None = None, today: date | None = None
) -> Flow:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowInvalid([Problem(str(path), 1, 1, f"cannot read flow file: {exc}")]) from None
    return build_flow(text, str(path), path.parent, revision=revision, calendars=calendars, today=today)


def validate_text(text: str, filename: str, flows_dir: Path | None = None) -> list[Problem]:
    try:
        build_flow(text, filename, flows_dir)
    except FlowInvalid as exc:
        return exc.problems
    return []


def validate_paths(paths: Iterable[str | Path]) -> list[Problem]:
    """Validate files and directories (every *.yaml / *.yml inside); returns all problems."""
    problems: list[Problem] = []
    for file in flow_files(paths):
        try:
            load_flow(file)
        except FlowInvalid as exc:
            problems += exc.problems
    return problems


def flow_files(paths: Iterable[str | Path]) -> list[Path]:
    """Each path that is a file, and every *.yaml / *.yml in each one that is a directory (sorted)."""
    files: list[Path] = []
    for path in map(Path, paths):
        files += sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
    return files
