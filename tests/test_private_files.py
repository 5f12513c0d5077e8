"""Private files are 0600, written whole, and with replace=False the first writer wins."""
from __future__ import annotations

import os

import pytest

from ivr.system.private_files import write_private_file


def test_written_whole_private_and_first_writer_wins(tmp_path):
    path = tmp_path / "new-dir" / "secret"
    write_private_file(path, "first\n", replace=False)
    with pytest.raises(FileExistsError):
        write_private_file(path, "second\n", replace=False)
    assert path.read_text() == "first\n" and oct(os.stat(path).st_mode & 0o777) == "0o600"
    write_private_file(path, "third\n")
    assert path.read_text() == "third\n" and oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no temporary files left
