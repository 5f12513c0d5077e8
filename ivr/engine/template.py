"""`{{name}}` templates: parsed once when a flow loads, rendered by plain substitution (never eval).

Names are dotted (`caller.number`, `owner.email`). One filter exists, `|spell`, which spaces out
characters so TTS reads a number digit by digit ("5 5 5 1 2").
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*(?:\|\s*([a-z_]+)\s*)?\}\}")
FILTERS = {
    "spell": lambda value: " ".join(ch for ch in value if not ch.isspace()),
    "upper": str.upper,
    "lower": str.lower,
}


class TemplateError(ValueError):
    """A template that cannot be parsed; the message says what is wrong."""


class Template:
    """A parsed template: literal text interleaved with (name, filter) references."""

    __slots__ = ("source", "parts", "names")

    def __init__(self, source: str):
        self.source = source
        parts: list[str | tuple[str, str]] = []
        pos = 0
        for match in _TOKEN.finditer(source):
            parts.append(source[pos : match.start()])
            name, flt = match.group(1), match.group(2) or ""
            if flt and flt not in FILTERS:
                raise TemplateError(f"unknown filter '|{flt}' in {{{{{name}|{flt}}}}} (known: {', '.join(FILTERS)})")
            parts.append((name, flt))
            pos = match.end()
        tail = source[pos:]
        for literal in (p for p in parts + [tail] if isinstance(p, str)):
            if "{{" in literal or "}}" in literal:
                raise TemplateError(f"malformed placeholder in {source!r}: use {{{{name}}}} with a dotted name")
        parts.append(tail)
        self.parts = tuple(p for p in parts if p != "")
        self.names = tuple(p[0] for p in self.parts if isinstance(p, tuple))

    def render(self, values: dict[str, str]) -> str:
        if not self.names:
            return self.source
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                value = str(values.get(part[0], ""))
                out.append(FILTERS[part[1]](value) if part[1] else value)
        return "".join(out)

    def __repr__(self) -> str:
        return f"Template({self.source!r})"


def compile_template(source: object) -> Template:
    return Template("" if source is None else str(source))
