"""The SIP edge: who may send us requests and how many, checked above the transport (docs/security.md).

`gate.Gate` runs first on every request: scanners are dropped, floods limited (pike.py), RFC 3261 violations
answered 400 (strict.py), and a new dialog is let in only from a trusted source (trust.py), an account that
passed digest authentication (digest.py), or to the `public` route when one is configured.
"""
