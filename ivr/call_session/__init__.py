"""One turn of a call, for any channel: load the state, advance the engine, save, queue the follow-ups.

session.py (the turn), writes.py (a turn's Redis writes, applied or replayed from the spool), status.py (the
provider's final call status), followups.py (how a Job action becomes an RQ job), wiring.py (a process's
connections, built from Settings).
"""

from ivr.call_session.session import CallSession

__all__ = ["CallSession"]
