"""deploy/systemd and deploy/install.sh, checked statically: systemd is not PID 1 here, so nothing is started.

install.sh runs into a scratch root (--root: no apt, no useradd; units enabled with `systemctl --root`), with
an existing system user (`daemon`) standing in for `ivr` so the owners can be checked. The scratch root gets a
copy of this machine's /usr/lib/systemd/system, as a real root has it, so `systemd-analyze verify --root` can
resolve sysinit.target and check that ExecStart names the venv's real `ivr`. What the kernel enforces for
MemoryDenyWriteExecute=yes is tried on real processes with prctl(PR_SET_MDWE).
"""

from __future__ import annotations

import ctypes
import grp
import pwd
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from ivr.settings import Settings
from ivr.store.calls import CallStore
from tests.sip.conftest import run_sipp, sipp_counts
from tests.twilio.conftest import server_env

from .nodes import ROOT, SipNode, free_tcp_port, wait_for

SERVICE_USER = "daemon"
UNITS = ("ivr-web.service", "ivr-worker.service", "ivr-sip@5060.service", "ivr.target")
SERVICES = ("ivr-web.service", "ivr-worker.service", "ivr-sip@5060.service")
EXPOSURE_OK = {"SAFE", "OK"}  # systemd-analyze's levels, best first: SAFE, OK, MEDIUM, EXPOSED, UNSAFE


def run_install(root: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["bash", str(ROOT / "deploy" / "install.sh"), "--root", str(root), "--user", SERVICE_USER, *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    assert shutil.which("systemd-analyze") and shutil.which("systemctl"), "systemd is not installed"
    root = tmp_path_factory.mktemp("root")
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    return root, run_install(root)


def mode_and_owner(path: Path) -> tuple[int, str, str]:
    info = path.lstat()
    return stat.S_IMODE(info.st_mode), pwd.getpwuid(info.st_uid).pw_name, grp.getgrgid(info.st_gid).gr_name


def test_install_lays_down_the_tree_with_modes_and_owners(installed):
    root, _ = installed
    group = grp.getgrgid(pwd.getpwnam(SERVICE_USER).pw_gid).gr_name
    assert mode_and_owner(root / "etc/ivr") == (0o750, "root", group)
    assert mode_and_owner(root / "etc/ivr/ivr.env") == (0o640, "root", group)  # secrets: not world-readable
    assert mode_and_owner(root / "var/lib/ivr") == (0o750, SERVICE_USER, group)
    assert mode_and_owner(root / "var/lib/ivr/flows")[1:] == (SERVICE_USER, group)
    assert (root / "var/lib/ivr/flows/skype-receptionist.yaml").read_text() == (
        ROOT / "flows/skype-receptionist.yaml"
    ).read_text()
    for unit in ("ivr-web.service", "ivr-worker.service", "ivr-sip@.service", "ivr.target"):
        assert mode_and_owner(root / "etc/systemd/system" / unit) == (0o644, "root", "root")
    wants = root / "etc/systemd/system/ivr.target.wants"
    assert sorted(p.name for p in wants.iterdir()) == ["ivr-sip@5060.service", "ivr-web.service", "ivr-worker.service"]
    assert (root / "etc/systemd/system/multi-user.target.wants/ivr.target").is_symlink()
    web = (root / "etc/systemd/system/ivr-web.service").read_text()
    assert f"\nUser={SERVICE_USER}\n" in web and f"\nGroup={group}\n" in web
    for doc in ("docs/deploy.md", "deploy/caddy/Caddyfile", "deploy/kamailio/kamailio.cfg"):
        assert (root / "opt/ivr" / doc).is_file(), doc


def test_the_venv_runs_ivr_and_says_which_lock_it_used(installed):
    root, result = installed
    ivr = root / "opt/ivr/venv/bin/ivr"
    assert subprocess.run([str(ivr), "sip", "--help"], capture_output=True, timeout=60).returncode == 0
    fallback = "requirements.lock is missing" in result.stderr
    assert fallback == (not (ROOT / "requirements.lock").exists()), result.stderr[-2000:]


def test_the_settings_file_gets_a_secret_key_and_survives_a_second_install(installed):
    root, _ = installed
    env = root / "etc/ivr/ivr.env"
    key = re.search(r"^IVR_SECRET_KEY=(\S+)$", env.read_text(), re.MULTILINE)
    assert key and len(key.group(1)) >= 40
    env.write_text(env.read_text() + "IVR_SIP_MAX_CALLS=42\n")
    flow = root / "var/lib/ivr/flows/skype-receptionist.yaml"
    flow.write_text(flow.read_text() + "# edited by the owner\n")
    before = env.read_text()
    again = run_install(root, "--skip-venv")
    assert env.read_text() == before and "left as it is" in again.stderr
    assert flow.read_text().endswith("# edited by the owner\n")


def test_units_pass_systemd_analyze_verify(installed):
    root, _ = installed
    result = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", *UNITS], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "ivr" not in result.stdout + result.stderr, result.stdout + result.stderr


@pytest.mark.parametrize("unit", SERVICES)
def test_no_unit_is_exposed_worse_than_ok(installed, unit):
    root, _ = installed
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", f"--root={root}", "--no-pager", unit],
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", result.stdout)
    assert found, result.stdout[-2000:] + result.stderr[-2000:]
    assert found.group(2) in EXPOSURE_OK, result.stdout
    print(f"{unit}: exposure {found.group(1)} {found.group(2)}")


def test_the_settings_template_names_every_setting_and_no_other():
    text = (ROOT / "deploy/systemd/ivr.env.example").read_text()
    named = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))
    assert named == set(Settings._ENV.values())


def test_the_sip_unit_gives_the_drain_time_to_finish():
    unit = (ROOT / "deploy/systemd/ivr-sip@.service").read_text()
    timeout = int(re.search(r"^TimeoutStopSec=(\d+)s$", unit, re.MULTILINE).group(1))
    assert timeout > Settings().sip_drain_seconds
    assert re.search(r"^KillMode=mixed$", unit, re.MULTILINE)  # SIGTERM to `ivr sip` itself: the drain


def healthz_json(url: str) -> dict | None:
    try:
        return requests.get(url, timeout=5).json()
    except requests.RequestException:
        return None


PR_SET_MDWE, PR_GET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 66, 1  # <linux/prctl.h>, Linux 6.3+


def memory_deny_write_execute() -> None:
    """preexec_fn: what the units' MemoryDenyWriteExecute=yes asks of the kernel (no writable+executable pages)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_MDWE")


def test_ivr_sip_and_web_run_under_memory_deny_write_execute(redis_server, redis_conn, tmp_path):
    """The units set MemoryDenyWriteExecute=yes: CPython, hiredis and our code must never need W+X memory."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    if libc.prctl(PR_GET_MDWE, 0, 0, 0, 0) < 0:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux < 6.3)")
    node = SipNode(redis_server.url, tmp_path / "data", preexec_fn=memory_deny_write_execute).start()
    try:
        result = run_sipp("uac_digit.xml", node.port, timeout=40, cwd=tmp_path, subst={"DIGIT": "1"})
        assert sipp_counts(result) == (1, 0), result.stdout[-2000:] + node.output()
    finally:
        node.stop()
    assert CallStore(redis_conn).recent()[0].outcome == "support_links_sent"
    port = free_tcp_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "ivr.web_cli", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=ROOT,
        env=server_env(redis_server.url, tmp_path / "web"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=memory_deny_write_execute,
    )
    try:
        health = wait_for(lambda: healthz_json(f"http://127.0.0.1:{port}/healthz"), 30, "ivr web under MDWE")
        assert health["status"] in ("ok", "degraded")  # Redis answered it (no worker or SIP runs here)
    finally:
        web.terminate()
        web.wait(20)
