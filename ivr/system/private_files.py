"""Files the product writes under the data directory are the owner's alone: directories 0700, files 0600.

- `private_dir(path)` creates a directory 0700, and tightens an existing one that is looser (with a log line).
- `open_private(path)` opens a file for writing that nobody else can read (0600 even if it existed looser).
- `write_private_file(path, text)` writes small files (the first admin password, the development secret key)
  whole: a reader sees either no file or all of it, never a half-written one. The text goes to a temporary
  file in the same directory (mkstemp creates it 0600), is synced, and only then takes the final name.
- `tighten_tree(root)` brings what an older version left (0755 directories, 0644 recordings) to 0700/0600.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE, FILE_MODE = 0o700, 0o600


def private_dir(path: Path | str) -> Path:
    """`path` as a directory only its owner can enter (its missing parents are created the same way)."""
    path = Path(path)
    if not path.is_dir():
        if not path.parent.is_dir():
            private_dir(path.parent)
        try:
            path.mkdir(mode=DIR_MODE)
        except FileExistsError:
            pass  # made by another process just now
    _tighten(path, DIR_MODE)
    return path


def _tighten(path: Path, wanted: int) -> None:
    mode = stat.S_IMODE(path.lstat().st_mode)
    if mode & 0o077 and not mode & stat.S_ISVTX:  # never a shared sticky directory such as /tmp
        os.chmod(path, wanted)
        log.warning("tightened %s from %s to %s: it is private to this service", path, oct(mode), oct(wanted))


def open_private(path: Path | str, mode: str = "wb"):
    """Open `path` for writing as a 0600 file (created so, or narrowed if it already existed)."""
    path = Path(path)
    private_dir(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, mode)


def tighten_tree(root: Path | str) -> int:
    """Directories under `root` to 0700, regular files to 0600; returns how many were looser (logged once)."""
    root = Path(root)
    if not root.is_dir():
        return 0
    changed = 0
    for directory, _dirs, files in os.walk(root):
        for path, wanted in [(Path(directory), DIR_MODE)] + [(Path(directory) / f, FILE_MODE) for f in files]:
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode) or not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
                continue  # the Redis socket keeps its own mode; links are not followed
            if stat.S_IMODE(info.st_mode) & 0o077 and not info.st_mode & stat.S_ISVTX:
                os.chmod(path, wanted)
                changed += 1
    if changed:
        log.warning("made %d files and directories under %s private to this service (0700/0600)", changed, root)
    return changed


def write_private_file(path: Path, text: str, *, replace: bool = True) -> None:
    """Write `text` to `path`. With `replace=False` an existing file is kept and FileExistsError raised, so when
    several processes race to create it, the first one wins and all of them read the same text."""
    path = Path(path)
    private_dir(path.parent)
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
