"""flows/routes.yaml: the documented example reads as the table it describes, `ivr validate` checks the file as the
routing table (problems at file:line:column, a flow with no file beside it only warned about), and what
routes_yaml writes reads back as the same table."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from ivr.flows.routes_file import flow_files, read_routes, routes_yaml

ROOT = Path(__file__).resolve().parents[2]
ADMIN_DOC = ROOT / "docs" / "admin.md"


def documented_example() -> str:
    section = ADMIN_DOC.read_text(encoding="utf-8").split("## Flows per number", 1)[1]
    return re.search(r"^```yaml\n(.*?)^```$", section, re.S | re.M).group(1)


def test_the_documented_example_is_a_valid_table():
    found = read_routes(documented_example(), "routes.yaml", {p.stem for p in flow_files(ROOT / "flows")}, "US")
    assert found.problems == []
    assert (found.routes, found.default) == (
        {"+442079460123": "skype-receptionist", "support": "skype-receptionist"},
        "skype-receptionist",
    )


def test_what_is_written_reads_back_as_the_same_table():
    routes = {"+442079460123": "sales", "support": "support", "201": "desk"}
    found = read_routes(routes_yaml(routes, "sales"), "routes.yaml", {"sales", "support", "desk"})
    assert (found.routes, found.default, found.problems) == (routes, "sales", [])


def validate(folder: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "ivr", "validate", str(folder)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_ivr_validate_checks_routes_yaml_as_the_routing_table(tmp_path):
    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows)
    (flows / "routes.yaml").write_text(documented_example())
    done = validate(flows)
    assert done.returncode == 0, done.stdout + done.stderr
    (flows / "routes.yaml").write_text("routes:\n  support: in-the-admin\n  sales team: skype-receptionist\nother: 1\n")
    failed = validate(flows)
    assert failed.returncode == 1
    assert failed.stdout.splitlines() == [
        f"{flows}/routes.yaml:3:3: 'sales team' is neither a phone number nor a name (letters, digits, '.', '_', '-')",
        f"{flows}/routes.yaml:4:1: unknown key 'other' (expected default, routes)",
    ]
    assert f"{flows}/routes.yaml:2:12: warning: no flow 'in-the-admin'" in failed.stderr
