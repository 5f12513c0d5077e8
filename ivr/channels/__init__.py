"""Channels: one module (or package, for SIP) per wire, translating it to engine events and actions."""
