"""Small private files (the first admin password, the development secret key): mode 0600, written whole.

A reader sees either no file or all of it, never a half-written one: the text goes to a temporary file in the
same directory (mkstemp creates it 0600), is synced, and only then takes the final name.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private_file(path: Path, text: str, *, replace: bool = True) -> None:
    """Write `text` to `path`. With `replace=False` an existing file is kept and FileExistsError raised, so when
    several processes race to create it, the first one wins and all of them read the same text."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(partial, path)
        else:
            os.link(partial, path)  # unlike a rename, a link never replaces an existing file
    finally:
        Path(partial).unlink(missing_ok=True)
