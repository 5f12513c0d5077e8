"""Self-hosted IVR: declarative YAML call flows run by a pure engine over SIP, Twilio and a simulator."""

__version__ = "0.1.0"
