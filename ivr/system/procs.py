"""Child-process helpers shared by everything that spawns a long-lived child (embedded Redis, `ivr run`)."""

from __future__ import annotations

import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent_pid: int):
    """preexec_fn: the kernel SIGTERMs the child when its parent dies, so no orphan survives a SIGKILL."""

    def preexec():
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec
