"""Read YAML while remembering where every node is, so errors can say `file:line:column`.

Scalars follow the YAML 1.2 core schema (yaml_core.py). Duplicate keys are reported, not silently merged; alias
bombs, recursive aliases and absurd nesting are refused before they exhaust memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from .yaml_core import ComposerType, LibyamlComposer, PythonComposer

NodePath = tuple[Any, ...]  # ('steps', 'menu', 'choices', 0)


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class Located:
    """Parsed data plus the position of every node, keyed by path tuples like ('steps', 'menu', 'choices', 0)."""

    def __init__(self, filename: str):
        self.filename = filename
        self.values: dict[NodePath, tuple[int, int]] = {}
        self.keys: dict[NodePath, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self.built = 0  # nodes built so far, against MAX_NODES

    def where(self, path: NodePath, key: bool = False) -> tuple[int, int]:
        """Position of the node at `path` (or of its key), falling back to the nearest known ancestor."""
        table = self.keys if key else self.values
        path = tuple(path)
        while path:
            if path in table:
                return table[path]
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), (1, 1))

    def problem(self, path: NodePath, message: str, key: bool = False) -> Problem:
        line, column = self.where(path, key)
        return Problem(self.filename, line, column, message)


def _at(filename: str, node: yaml.Node, message: str) -> Problem:
    """A problem at the node's start."""
    return Problem(filename, node.start_mark.line + 1, node.start_mark.column + 1, message)


def _scalar(node: yaml.ScalarNode) -> Any:
    value, tag = node.value, node.tag
    if tag.endswith(":bool"):
        return value.lower() == "true"
    if tag.endswith(":int"):
        return int(value)
    if tag.endswith(":float"):
        return float(value)
    if tag.endswith(":null"):
        return None
    return value


# Flows are small (a 1,000-step flow is ~10,000 nodes). The caps stop YAML alias bombs ("billion laughs":
# aliases of aliases expand exponentially), self-referencing aliases and absurd nesting before they exhaust memory.
MAX_NODES = 200_000
MAX_DEPTH = 64


class _TooBig(Exception):
    """Raised inside _build; read_yaml turns it into a Problem at the node where the cap was hit."""

    def __init__(self, node: yaml.Node, message: str):
        super().__init__(message)
        self.node = node


def _build(node: yaml.Node, path: NodePath, located: Located, active: frozenset[int] = frozenset()) -> Any:
    located.built += 1
    if located.built > MAX_NODES:
        raise _TooBig(
            node,
            f"the file expands to more than {MAX_NODES} YAML nodes (aliases of aliases?): "
            f"write the repeated parts out or reference fewer aliases",
        )
    if len(path) > MAX_DEPTH:
        raise _TooBig(node, f"nesting deeper than {MAX_DEPTH} levels is not allowed in a flow")
    if id(node) in active:
        raise _TooBig(node, "an alias refers to the node that contains it (a recursive structure)")
    located.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        inner = active | {id(node)}
        result: dict[Any, Any] = {}
        first_seen: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, (str, int, float, bool)):
                located.problems.append(_at(located.filename, key_node, "mapping keys must be plain scalars"))
                continue
            key = str(key) if not isinstance(key, str) else key
            child = path + (key,)
            if key in first_seen:
                what = f"step id '{key}'" if path == ("steps",) else f"key '{key}'"
                where = ".".join(map(str, path)) or "flow"
                message = f"{where}: duplicate {what} (first defined at line {first_seen[key]}): rename or remove one"
                located.problems.append(_at(located.filename, key_node, message))
                continue
            first_seen[key] = key_node.start_mark.line + 1
            located.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _build(value_node, child, located, inner)
        return result
    if isinstance(node, yaml.SequenceNode):
        inner = active | {id(node)}
        return [_build(item, path + (index,), located, inner) for index, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return _scalar(node)


_NODE_EVENTS = (yaml.ScalarEvent, yaml.AliasEvent, yaml.CollectionStartEvent)


def _depth_problem(text: str, filename: str, composer: ComposerType) -> Problem | None:
    """Walk the parser's events (no nodes built) and stop at the first node nested deeper than MAX_DEPTH."""
    loader = composer(text)
    try:
        depth = 0  # collections open around the next node: len(path) in _build
        while (event := loader.get_event()) is not None and not isinstance(event, yaml.StreamEndEvent):
            if isinstance(event, _NODE_EVENTS) and depth > MAX_DEPTH:
                mark = event.start_mark
                line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
                return Problem(
                    filename, line, column, f"nesting deeper than {MAX_DEPTH} levels is not allowed in a flow"
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return None
    finally:
        loader.dispose()


def _compose(text: str, filename: str, composer: ComposerType) -> Any:
    """The root node (None for an empty file), or a Problem if it nests too deep; other YAMLErrors propagate.

    The depth is our own check, made before composing: PyYAML's pure-Python composer recurses once per level, and
    libyaml (since PyYAML 6.0.4) stops at a depth of its own choosing, so neither decides what an author is told."""
    try:
        problem = _depth_problem(text, filename, composer)
    except yaml.YAMLError as error:
        if composer is PythonComposer:
            raise
        # libyaml scans far ahead and may stop at its own limit before we see the events; the pure-Python parser
        # has no limit and tells whether ours came first. Only a broken file pays for this second scan.
        try:
            problem = _depth_problem(text, filename, PythonComposer)
        except yaml.YAMLError:
            problem = None
        if problem is None:
            raise error from None
    if problem is not None:
        return problem
    loader = composer(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def read_yaml(text: str, filename: str, composer: ComposerType = LibyamlComposer) -> tuple[object, Located]:
    """Parse YAML text; syntax errors and oversized documents become Problems (data is then None)."""
    located = Located(filename)
    try:
        node = _compose(text, filename, composer)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        located.problems.append(Problem(filename, line, column, f"YAML syntax error: {exc.problem or exc}"))
        return None, located
    except yaml.YAMLError as exc:
        located.problems.append(Problem(filename, 1, 1, f"YAML error: {exc}"))
        return None, located
    if isinstance(node, Problem):
        located.problems.append(node)
        return None, located
    if node is None:
        located.problems.append(Problem(filename, 1, 1, "the file is empty: a flow needs id, start and steps"))
        return None, located
    try:
        return _build(node, (), located), located
    except _TooBig as exc:
        located.problems.append(_at(filename, exc.node, str(exc)))
        return None, located
