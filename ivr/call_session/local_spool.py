"""The spool as a call sees it: every operation either works or is logged, never raised.

If even the local disk fails, the call goes on (the loss is logged); a failed check reads as "the spool is in
use", the careful answer. The spool itself is store/spool.py.
"""

from __future__ import annotations

import logging

from ivr.store.spool import Spool

log = logging.getLogger(__name__)

KIND = "turn"  # spool entry kind of a turn write


class LocalSpool:
    def __init__(self, spool: Spool):
        self.spool = spool

    def is_empty(self) -> bool:
        """While Redis is healthy the spool is empty, and a turn then does no spool I/O at all."""
        try:
            return self.spool.is_empty()
        except Exception:
            log.exception("spool is_empty failed")
            return False

    def pending(self) -> int:
        try:
            return self.spool.pending()
        except Exception:
            log.exception("spool pending failed")
            return 0

    def append(self, write: dict) -> None:
        try:
            self.spool.append(write["id"], KIND, write)
        except Exception:
            log.exception("spool append failed: call %s lost a turn write", write.get("call_id"))

    def save_state(self, blob: dict) -> None:
        try:
            self.spool.save_state(blob)
        except Exception:
            log.exception("spool save_state failed")

    def load_state(self, call_id: str) -> dict | None:
        try:
            return self.spool.load_state(call_id)
        except Exception:
            log.exception("spool load_state failed")
            return None

    def drop_state(self, call_id: str, version: int) -> None:
        try:
            self.spool.drop_state(call_id, version)
        except Exception:
            log.exception("spool drop_state failed")
