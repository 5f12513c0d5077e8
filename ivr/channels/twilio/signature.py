"""Twilio request signatures: rebuild the URL Twilio signed and check X-Twilio-Signature with RequestValidator.

Twilio signs the exact URL it requested (scheme, host, optional port, path and query string) followed by the
sorted POST parameters. Behind a reverse proxy the app sees another URL (http instead of https, an inner host or
port), so either `public_base_url` names the public origin (the path and raw query string are appended), or
ProxyFix rebuilds scheme/host/port from trusted X-Forwarded-* headers. RequestValidator itself accepts the URL
with and without the default port. No auth token configured means every request is refused (fail closed).

The signature covers exactly what the views read: the query string as part of the URL, and `request.form` as
the parameters. Twilio only ever posts url-encoded forms, so any other body is refused: Flask fills
`request.form` from multipart bodies too, and since the signing string has no separators, one captured
signature also signs its own pairs moved into the query string (issue 12 item 2).
"""

from __future__ import annotations

import hmac
from functools import lru_cache

from flask import Request
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)


@lru_cache(maxsize=4)
def _validator(auth_token: str) -> RequestValidator:
    return RequestValidator(auth_token)


FORM_MIMETYPE = "application/x-www-form-urlencoded"


def signed_url(request: Request, public_base_url: str = "") -> str:
    """The URL Twilio requested, as it would have signed it."""
    query = request.query_string.decode("latin-1")
    suffix = request.script_root + request.path + (f"?{query}" if query else "")
    if public_base_url:
        return public_base_url.rstrip("/") + suffix
    return f"{request.scheme}://{request.host}{suffix}"


def is_signed(request: Request, auth_token: str, public_base_url: str = "") -> bool:
    """True when X-Twilio-Signature matches this request under `auth_token`."""
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not auth_token or not signature or request.mimetype != FORM_MIMETYPE:
        return False
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    params = request.form  # the very parameters the views read
    if params and all(len(values) == 1 for values in params.listvalues()):
        params = params.to_dict()  # the validator reads a plain dict much faster than a MultiDict
    validator, url = _validator(auth_token), signed_url(request, public_base_url)
    try:  # the URL as requested is by far the usual case: one HMAC instead of validate()'s two
        if hmac.compare_digest(validator.compute_signature(url, params, algorithm).encode(), signature.encode()):
            return True
    except ValueError:  # an algorithm this twilio library does not know
        return False
    return validator.validate(url, params, signature, algorithm)  # also tries the URL with/without its port
