"""The one phone-number policy: every number the IVR dials, texts or transfers to passes through here.

`policy.py` is pure (the `phonenumbers` library, no I/O): normalization to ASCII E.164 and the destination
rules; `dialled.py` makes the routing table's key of a called number. The counters behind the rate limits
live in Redis (`ivr.store.phone_limits`), used by the jobs.
"""

from .dialled import route_key
from .policy import (
    REFUSED_TYPES,
    NumberRefused,
    PhonePolicy,
    Purpose,
    caller_number,
    is_sip_uri,
    known_region,
    normalize,
)

__all__ = [
    "REFUSED_TYPES",
    "NumberRefused",
    "PhonePolicy",
    "Purpose",
    "caller_number",
    "is_sip_uri",
    "known_region",
    "normalize",
    "route_key",
]
