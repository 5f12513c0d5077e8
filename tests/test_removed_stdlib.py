"""Ready for Python 3.13: no module of ours imports a stdlib module that 3.13 removed (PEP 594), except `audioop`
through its one shim, tests/audioop_shim.py (the stdlib module up to 3.12, the audioop-lts package from 3.13)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIM = ROOT / "tests" / "audioop_shim.py"
REMOVED_IN_3_13 = frozenset(
    {
        "aifc",
        "audioop",
        "cgi",
        "cgitb",
        "chunk",
        "crypt",
        "imghdr",
        "mailcap",
        "msilib",
        "nis",
        "nntplib",
        "ossaudiodev",
        "pipes",
        "sndhdr",
        "spwd",
        "sunau",
        "telnetlib",
        "uu",
        "xdrlib",
        "lib2to3",
    }
)
IMPORTING_CALLS = {"import_module", "importorskip", "__import__"}  # importlib.import_module, pytest.importorskip


def removed_imports(source: str, filename: str = "<source>") -> list[str]:
    """Every import of a removed module in `source`, as 'line: module', wherever it stands (functions, try blocks)."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            names = [node.args[0].value] if called in IMPORTING_CALLS and isinstance(node.args[0].value, str) else []
        else:
            continue
        found += [(node.lineno, name) for name in names if name.split(".")[0] in REMOVED_IN_3_13]
    return [f"{line}: {name}" for line, name in sorted(found)]


def our_modules() -> list[Path]:
    return sorted(path for folder in ("ivr", "tests", "bench") for path in (ROOT / folder).rglob("*.py"))


def test_the_scan_finds_every_form_of_import():
    source = (
        "import os, audioop as a\nfrom cgi import escape\nimport lib2to3.pgen2\n"
        "def f():\n    try:\n        import telnetlib\n    except ImportError:\n        pass\n"
        "pytest.importorskip('crypt')\nimportlib.import_module('pipes')\n__import__('uu')\n"
        "from . import audioop\nimport audioop_lts\nfrom email import message\n"
    )
    assert removed_imports(source) == [
        "1: audioop",
        "2: cgi",
        "3: lib2to3.pgen2",
        "6: telnetlib",
        "9: crypt",
        "10: pipes",
        "11: uu",
    ]


def test_the_shim_is_the_only_door_to_audioop():
    assert SHIM in our_modules()
    imported = {entry.split(": ")[1] for entry in removed_imports(SHIM.read_text(encoding="utf-8"))}
    assert imported == {"audioop"}


@pytest.mark.parametrize("path", [p for p in our_modules() if p != SHIM], ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_what_python_3_13_removed(path: Path):
    assert removed_imports(path.read_text(encoding="utf-8"), str(path)) == []
