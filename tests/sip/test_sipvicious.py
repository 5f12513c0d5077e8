"""An attack run with SIPVicious (PyPI `sipvicious`) against a real listener, loopback only.

The IVR trusts 127.0.0.1 alone and has one digest account; the tools send from 127.0.0.2, once with their
default User-Agent (`friendly-scanner`) and once with a softphone's. A scan, an extension enumeration (REGISTER
and INVITE), and a digest brute force (with the right password in the dictionary) must find nothing and start
no call. docs/security.md records the run. A control run from 127.0.0.1 shows the tools do find a listener.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .apps import Recorded, hold_app
from .test_edge import accounts_for, edge_server  # noqa: F401  (the fixture)

pytest.importorskip("sipvicious")

HARNESS = Path(__file__).with_name("sipvicious_run.py")
SOFTPHONE = "Linphone/5.2.5 (belle-sip/5.2.0)"
PASSWORD = "s3cret-Pass-42"


def attack(agent: str, tool: str, port: int, *args: str, source: str = "127.0.0.2") -> str:
    done = subprocess.run(
        [sys.executable, str(HARNESS), agent, tool, "-b", source, "-p", str(port), *args, "127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=90,
    )
    return done.stdout + done.stderr


def test_control_a_scan_from_the_trusted_address_finds_the_listener(edge_server):  # noqa: F811
    running = edge_server(hold_app(Recorded()))
    out = attack("friendly-scanner", "svmap", running.port, source="127.0.0.1")
    assert f"127.0.0.1:{running.port}" in out and "found nothing" not in out, out


@pytest.mark.parametrize("agent", ["friendly-scanner", SOFTPHONE])
def test_sipvicious_from_an_untrusted_address_finds_nothing(edge_server, tmp_path, agent):  # noqa: F811
    running = edge_server(hold_app(Recorded()), accounts=accounts_for("alice", PASSWORD))
    dictionary = tmp_path / "passwords.txt"
    dictionary.write_text("123456\npassword\nalice\n" + PASSWORD + "\n")
    runs = {
        "scan": attack(agent, "svmap", running.port),
        "enumerate (REGISTER)": attack(agent, "svwar", running.port, "-e", "100-120"),
        "enumerate (INVITE)": attack(agent, "svwar", running.port, "-e", "100-110", "-m", "INVITE"),
        "crack": attack(agent, "svcrack", running.port, "-u", "alice", "-d", str(dictionary)),
    }
    for name, out in runs.items():
        assert "found nothing" in out, (name, out)
        assert PASSWORD not in out, (name, out)
    assert running.state()["started"] == 0


@pytest.mark.parametrize("agent, seen", [("friendly-scanner", False), (SOFTPHONE, True)])
def test_an_unauthenticated_invite_ping_gets_a_challenge_at_most_and_no_call(edge_server, agent, seen):  # noqa: F811
    running = edge_server(hold_app(Recorded()), accounts=accounts_for("alice", PASSWORD))
    out = attack(agent, "svmap", running.port, "-m", "INVITE")
    # A softphone's agent gets the 401 that lets real softphones authenticate (svmap lists an "unknown" device:
    # we send no User-Agent on refusals); the scanner's agent gets nothing at all
    assert ("found nothing" not in out) is seen, out
    assert running.state()["started"] == 0
