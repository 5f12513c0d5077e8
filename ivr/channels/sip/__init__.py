"""SIP channel: a plain UDP SIP endpoint (aiosipua for signalling) with our own RTP media path.

Every import of aiosipua stays inside this package, so the stack stays replaceable.
See docs/sip.md for the design, the fixes to aiosipua and the settings.
"""
