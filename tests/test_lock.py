"""The lock is in step with pyproject.toml: what bootstrap installs is what the ranges allow, pinned and hashed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^ ;\\]+)(?: ; (?P<marker>[^\\]+?))?\s*\\?$")


def locked_pins(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) for every pin of an exported lock."""
    pins, current = {}, None
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match["name"])
            pins[current] = (match["version"], 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def bootstrap_requirements() -> list[Requirement]:
    """What requirements.lock must cover: runtime, the dev, embedded, speech and piper extras, the bootstrap group."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = project["project"]["optional-dependencies"]
    wanted = [
        *project["project"]["dependencies"],
        *extras["dev"],
        *extras["embedded"],
        *extras["speech"],
        *extras["piper"],
        *project["dependency-groups"]["bootstrap"],
    ]
    return [Requirement(text) for text in wanted]


def test_every_requirement_is_pinned_within_its_range_and_hashed():
    pins = locked_pins(ROOT / "requirements.lock")
    assert len(pins) > 50 and all(hashes > 0 for _, hashes in pins.values())
    for requirement in bootstrap_requirements():
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue  # e.g. audioop-lts, for Python 3.13 only
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in requirements.lock: run deploy/lock.sh"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name][0]}, outside {requirement}: run deploy/lock.sh"
        )


def test_uv_lock_and_its_exports_match_pyproject(tmp_path):
    uv = Path(sys.executable).with_name("uv")  # a dev requirement, so in every venv with the dev extra
    assert uv.exists(), "uv is not installed in this venv: run deploy/bootstrap.sh"
    env = {**os.environ, "UV": str(uv), "UV_OFFLINE": "1", "UV_CACHE_DIR": str(tmp_path / "uv-cache")}
    result = subprocess.run(
        [str(ROOT / "deploy" / "lock.sh"), "--check"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
