"""Child processes that never outlive their parent: the kernel's parent-death signal (Linux prctl)."""
from __future__ import annotations

import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent_pid: int, sig: int = signal.SIGTERM) -> None:
    """Call in a child: the kernel sends `sig` when the parent exits (even by SIGKILL)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os.kill(os.getpid(), sig)


def preexec_die_with_parent():
    """A subprocess.Popen preexec_fn doing `die_with_parent` for the calling process."""
    parent = os.getpid()
    return lambda: die_with_parent(parent)
