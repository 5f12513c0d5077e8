"""Read YAML while remembering where every node is, so errors can say `file:line:column`.

Scalars follow the YAML 1.2 core schema: `on`, `no`, `9:30` and dates stay strings (YAML 1.1 would
turn them into booleans, sexagesimal numbers and dates). Duplicate keys are reported, not silently merged.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import yaml
from yaml.composer import Composer
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class CoreResolver(BaseResolver):
    """YAML 1.2 core schema resolution for plain scalars."""


CoreResolver.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                   list("tTfF"))
CoreResolver.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
CoreResolver.add_implicit_resolver("tag:yaml.org,2002:float",
                                   re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
                                   list("-+0123456789."))
CoreResolver.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"),
                                   ["~", "n", "N", ""])


class _Composer(Reader, Scanner, Parser, Composer, CoreResolver):
    def __init__(self, stream):
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        CoreResolver.__init__(self)


try:
    from yaml.cyaml import CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    CParser = None

if CParser is not None:
    class _FastComposer(CParser, CoreResolver):  # libyaml: the same nodes and marks, several times faster
        def __init__(self, stream):
            CParser.__init__(self, stream)
            CoreResolver.__init__(self)
else:  # pragma: no cover
    _FastComposer = _Composer


class Located:
    """Parsed data plus the position of every node, keyed by path tuples like ('steps', 'menu', 'choices', 0)."""

    def __init__(self, filename: str):
        self.filename = filename
        self.values: dict[tuple, tuple[int, int]] = {}
        self.keys: dict[tuple, tuple[int, int]] = {}
        self.problems: list[Problem] = []

    def where(self, path: tuple, key: bool = False) -> tuple[int, int]:
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

    def problem(self, path: tuple, message: str, key: bool = False) -> Problem:
        line, column = self.where(path, key)
        return Problem(self.filename, line, column, message)


def _scalar(node: yaml.ScalarNode):
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


def _build(node, path: tuple, located: Located):
    located.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result, first_seen = {}, {}
        for key_node, value_node in node.value:
            key = _scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, (str, int, float, bool)):
                located.problems.append(Problem(located.filename, key_node.start_mark.line + 1,
                                                key_node.start_mark.column + 1, "mapping keys must be plain scalars"))
                continue
            key = str(key) if not isinstance(key, str) else key
            child = path + (key,)
            if key in first_seen:
                located.problems.append(Problem(located.filename, key_node.start_mark.line + 1,
                                                key_node.start_mark.column + 1,
                                                f"duplicate key '{key}' (first defined at line {first_seen[key]})"))
                continue
            first_seen[key] = key_node.start_mark.line + 1
            located.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _build(value_node, child, located)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (index,), located) for index, item in enumerate(node.value)]
    return _scalar(node)


def read_yaml(text: str, filename: str) -> tuple[object, Located]:
    """Parse YAML text; syntax errors become Problems (data is then None)."""
    located = Located(filename)
    try:
        loader = _FastComposer(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        located.problems.append(Problem(filename, line, column, f"YAML syntax error: {exc.problem or exc}"))
        return None, located
    except yaml.YAMLError as exc:
        located.problems.append(Problem(filename, 1, 1, f"YAML error: {exc}"))
        return None, located
    if node is None:
        located.problems.append(Problem(filename, 1, 1, "the file is empty: a flow needs id, start and steps"))
        return None, located
    return _build(node, (), located), located
