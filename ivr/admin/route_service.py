"""What the routes page, the REST API and `ivr routes` do with the routing table (which flow answers each
called number): check a row's number and flow before it is stored, and import or export flows/routes.yaml.

A row's number is kept as `ivr.phone.route_key` makes it (E.164, or a SIP user name), so `+44 20...`, `0044 20...`
and a trunk's `4420...` are one row. A row (or the default) may only name a flow that exists: a file in
IVR_FLOWS_DIR or a flow saved in the admin. The processes see a change within REFRESH_SECONDS.
"""

from __future__ import annotations

from pathlib import Path

from ivr.call_session.routing import REFRESH_SECONDS
from ivr.flows import Problem
from ivr.flows.routes_file import ROUTES_FILE, read_routes, routes_yaml
from ivr.phone import NumberRefused, route_key
from ivr.settings import Settings
from ivr.store.flows import FlowStore
from ivr.store.routes import RouteStore, RouteTable

from .flow_service import flow_yaml_files

__all__ = ["REFRESH_SECONDS", "Invalid", "RouteService"]


class Invalid(ValueError):
    """A row, a default or a routes.yaml that cannot be stored; `problems` say where (file:line for a file)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        self.lines = [p.message if p.file == "-" else str(p) for p in problems]  # a file's problems: file:line:col
        super().__init__("; ".join(self.lines))


def _invalid(message: str) -> Invalid:
    return Invalid([Problem("-", 0, 0, message)])


def _labelled(label: str, exc: Invalid) -> list[Problem]:
    return [Problem("-", 0, 0, f"{label}: {p.message}") for p in exc.problems]


class RouteService:
    def __init__(self, conn, settings: Settings) -> None:
        self.store, self.settings = RouteStore(conn), settings
        self.flows = FlowStore(conn)

    def table(self) -> RouteTable:
        return self.store.table()

    def known_flows(self) -> set[str]:
        """The flow ids a row may name: the flow files, and the flows saved in the admin."""
        return {p.stem for p in flow_yaml_files(self.settings)} | set(self.flows.flow_ids())

    def key(self, number: str) -> str:
        try:
            return route_key(number, self.settings.default_region)
        except NumberRefused as exc:
            raise _invalid(f"{number!r} is {exc.reason}") from None

    def check_flow(self, flow_id: str, known: set[str] | None = None) -> str:
        if not isinstance(flow_id, str) or flow_id not in (self.known_flows() if known is None else known):
            raise _invalid(f"no flow {flow_id!r} (a file in the flows folder, or a flow saved in the admin)")
        return flow_id

    def set_row(self, number: str, flow_id: str) -> str:
        """Route `number` to `flow_id`; returns the row's key (the number as stored)."""
        key = self.key(number)
        self.store.set(key, self.check_flow(flow_id))
        return key

    def remove_row(self, number: str) -> str | None:
        """Remove the row of `number`; returns its key, or None when there was no such row."""
        key = self.key(number)
        return key if self.store.remove(key) else None

    def set_default(self, flow_id: str) -> None:
        """The flow for a number with no row ('': the process's IVR_DEFAULT_FLOW)."""
        self.store.set_default(self.check_flow(flow_id) if flow_id else "")

    def replace(self, routes: dict[str, str], default: str = "") -> RouteTable:
        """Put a whole table in place, atomically, once every row is valid (Invalid lists each bad one)."""
        known, problems, rows = self.known_flows(), [], {}
        for number, flow_id in routes.items():
            try:
                key = self.key(number)
                if key in rows:
                    raise _invalid(f"{number!r} is {key}, which is given twice")
                rows[key] = self.check_flow(flow_id, known)
            except Invalid as exc:
                problems += _labelled(number, exc)
        if default:
            try:
                self.check_flow(default, known)
            except Invalid as exc:
                problems += _labelled("default", exc)
        if problems:
            raise Invalid(problems)
        table = RouteTable(rows, default)
        self.store.replace(table)
        return table

    def import_text(self, text: str, filename: str = ROUTES_FILE) -> RouteTable:
        """routes.yaml in place of the table; Invalid with each problem at file:line:column, nothing stored."""
        found = read_routes(text, filename, self.known_flows(), self.settings.default_region)
        if found.problems:
            raise Invalid(found.problems)
        table = RouteTable(found.routes, found.default)
        self.store.replace(table)
        return table

    def import_file(self, path: Path | None = None) -> RouteTable:
        """`path` (default: flows/routes.yaml) in place of the table, as import_text."""
        path = path or self.file_path()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise _invalid(f"cannot read {path}: {exc.strerror}") from None
        return self.import_text(text, str(path))

    def export_text(self) -> str:
        table = self.store.table()
        return routes_yaml(table.routes, table.default)

    def file_path(self) -> Path:
        return Path(self.settings.flows_dir) / ROUTES_FILE

    def export_file(self) -> Path:
        """Write the table to flows/routes.yaml (atomically: a process never reads half a file), for git."""
        path = self.file_path()
        tmp = path.with_suffix(".yaml.tmp")
        tmp.write_text(self.export_text(), encoding="utf-8")
        tmp.replace(path)
        return path
