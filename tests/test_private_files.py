"""Private files are 0600, written whole, and with replace=False the first writer wins."""

from __future__ import annotations

import logging
import os
import stat

import pytest

from ivr.system.private_files import open_private, private_dir, tighten_tree, write_private_file


def test_written_whole_private_and_first_writer_wins(tmp_path):
    path = tmp_path / "new-dir" / "secret"
    write_private_file(path, "first\n", replace=False)
    with pytest.raises(FileExistsError):
        write_private_file(path, "second\n", replace=False)
    assert path.read_text() == "first\n" and oct(os.stat(path).st_mode & 0o777) == "0o600"
    write_private_file(path, "third\n")
    assert path.read_text() == "third\n" and oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no temporary files left


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_private_dir_is_created_0700_and_a_looser_one_is_tightened_with_a_log(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="ivr.system.private_files")
    made = private_dir(tmp_path / "var" / "recordings")
    assert mode(made) == 0o700 and mode(made.parent) == 0o700 and not caplog.records
    made.chmod(0o755)
    private_dir(made)
    assert mode(made) == 0o700 and "tightened" in caplog.text and str(made) in caplog.text


def test_open_private_narrows_an_existing_file(tmp_path):
    path = tmp_path / "rec.wav"
    path.write_bytes(b"old")
    path.chmod(0o644)
    with open_private(path) as out:
        out.write(b"new")
    assert path.read_bytes() == b"new" and mode(path) == 0o600


def test_tighten_tree_fixes_what_an_older_version_left(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="ivr.system.private_files")
    (tmp_path / "var" / "recordings").mkdir(parents=True, mode=0o755)
    (tmp_path / "var").chmod(0o755)
    voicemail = tmp_path / "var" / "recordings" / "call-1.wav"
    voicemail.write_bytes(b"RIFF")
    voicemail.chmod(0o644)
    assert tighten_tree(tmp_path / "var") == 3 and "3 files and directories" in caplog.text
    assert mode(voicemail) == 0o600 and mode(voicemail.parent) == 0o700 and mode(tmp_path / "var") == 0o700
    assert tighten_tree(tmp_path / "var") == 0
