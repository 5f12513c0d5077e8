"""How flow YAML is parsed: the YAML 1.2 core-schema resolver and the two composers PyYAML may come with.

Scalars follow the YAML 1.2 core schema: `on`, `no`, `9:30` and dates stay strings (YAML 1.1 would turn them into
booleans, sexagesimal numbers and dates); numbers are written as in JSON, so `+1555...` and `0044` stay text.
"""

from __future__ import annotations

import re
from typing import Any

from yaml.composer import Composer
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner


class CoreResolver(BaseResolver):
    """YAML 1.2 core schema resolution for plain scalars."""


CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
# Numbers as in JSON: no leading '+' or '0', so phone numbers (+15550100100, 0044...) and keys such as 08 keep
# every character as text instead of silently becoming 15550100100 or 8 (stricter than YAML 1.2's [-+]?[0-9]+).
CoreResolver.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^-?(?:0|[1-9][0-9]*)$"), list("-0123456789"))
CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$"),
    list("-0123456789"),
)
CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)


class PythonComposer(Reader, Scanner, Parser, Composer, CoreResolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        CoreResolver.__init__(self)


try:
    from yaml.cyaml import CParser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    CParser = None  # type: ignore[misc,assignment]

if CParser is not None:

    class LibyamlComposer(CParser, CoreResolver):  # libyaml: the same nodes and marks, several times faster
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            CoreResolver.__init__(self)
else:  # pragma: no cover
    LibyamlComposer = PythonComposer  # type: ignore[misc,assignment]

# Both parsers PyYAML may come with; read_yaml uses libyaml when it is there, and must behave the same on either.
ComposerType = Any  # a composing loader class: LibyamlComposer (libyaml) or PythonComposer (pure Python)
COMPOSERS = {"libyaml": LibyamlComposer, "python": PythonComposer}
