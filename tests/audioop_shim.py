"""The one door to `audioop`, the tests' independent G.711 reference: the stdlib module up to Python 3.12, and from
3.13 (which removed it, PEP 594) the audioop-lts package, a dev dependency with that marker, which installs a module
of the same name. tests/test_removed_stdlib.py lets no other module import it."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # 3.11-3.12 warn that it is going
    import audioop

__all__ = ["audioop"]
