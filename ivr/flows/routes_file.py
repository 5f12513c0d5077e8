"""flows/routes.yaml: the routing table (which flow answers each called number) as a file to keep in git.

    default: skype-receptionist        # optional: the flow for a called number with no row
    routes:
      "+44 20 7946 0123": sales        # a number in any form; kept as E.164 (ivr.phone.route_key)
      support: support                 # a SIP Request-URI user that is not a number

`read_routes(text, filename, known, region)` checks the file, each key and (given `known`, the flow ids that
exist) each flow id, with every problem at `file:line:column`; `routes_yaml(...)` writes the file back
(`ivr routes export|import`). The file lives among the flows, so `flow_files(folder)` lists a folder's
flow files without it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..phone import NumberRefused, route_key
from .source import Problem, read_yaml

ROUTES_FILE = "routes.yaml"
TOP_KEYS = ("default", "routes")


@dataclass
class RoutesRead:
    routes: dict[str, str] = field(default_factory=dict)  # route key -> flow id
    default: str = ""
    problems: list[Problem] = field(default_factory=list)


def flow_files(folder: str | Path) -> list[Path]:
    """The flow files of a folder (*.yaml, *.yml), sorted; flows/routes.yaml is the routing table, not a flow."""
    path = Path(folder)
    return sorted(p for p in [*path.glob("*.yaml"), *path.glob("*.yml")] if p.name != ROUTES_FILE)


def read_routes(text: str, filename: str, known: Collection[str] | None = None, region: str = "") -> RoutesRead:
    """The table in `text`; `known` (None: not checked) are the flow ids a row or the default may name."""
    result = RoutesRead()
    if not text.strip():
        return result  # an empty file: no rows, no default
    data, located = read_yaml(text, filename)
    result.problems += located.problems
    if data is None:
        return result
    if not isinstance(data, dict):
        result.problems.append(located.problem((), "routes.yaml is a mapping with 'default' and 'routes'"))
        return result
    for name in data:
        if name not in TOP_KEYS:
            result.problems.append(located.problem((name,), f"unknown key {name!r} (expected default, routes)", True))

    def check_flow(path: tuple[object, ...], value: object) -> str:
        if not isinstance(value, str) or not value:
            result.problems.append(located.problem(path, "a flow id (text) is needed here"))
            return ""
        if known is not None and value not in known:
            result.problems.append(located.problem(path, f"no flow {value!r} (flows/{value}.yaml or the admin)"))
        return value

    if "default" in data and data["default"] not in (None, ""):
        result.default = check_flow(("default",), data["default"])
    rows = data.get("routes")
    if rows is not None and not isinstance(rows, dict):
        result.problems.append(located.problem(("routes",), "'routes' maps called numbers to flow ids"))
        return result
    where: dict[str, object] = {}  # route key -> the key as written first
    for raw, flow_id in (rows or {}).items():
        path = ("routes", raw)
        try:
            key = route_key(str(raw), region)
        except NumberRefused as exc:
            result.problems.append(located.problem(path, f"{raw!r} is {exc.reason}", True))
            continue
        if key in where:
            message = f"{raw!r} is {key}, as {where[key]!r} above: one row per number"
            result.problems.append(located.problem(path, message, True))
            continue
        where[key] = raw
        if checked := check_flow(path, flow_id):
            result.routes[key] = checked
    result.problems.sort()
    return result


def routes_yaml(routes: Mapping[str, str], default: str = "") -> str:
    """The text of routes.yaml for a table: keys quoted (a `+44...` key stays text), rows sorted."""
    lines = ["# Which flow answers each called number: `ivr routes import` loads this file, `export` writes it."]
    lines.append(f"default: {json.dumps(default)}" if default else "# default: <flow id>  (else IVR_DEFAULT_FLOW)")
    lines.append("routes:" if routes else "routes: {}")
    lines += [f"  {json.dumps(key)}: {json.dumps(routes[key])}" for key in sorted(routes)]
    return "\n".join(lines) + "\n"
