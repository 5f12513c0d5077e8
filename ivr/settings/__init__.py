"""Settings: the one settings object (model.py), read from the environment in one place (`Settings.from_env`).

help.py says what each setting is for and which features need it; capabilities.py says what this installation can
deliver with its settings; doc.py generates docs/settings.md (`python -m ivr.settings.doc > docs/settings.md`).
"""

from .help import FEATURES, HELP, SettingInfo, describe
from .model import Settings

__all__ = ["FEATURES", "HELP", "Settings", "SettingInfo", "describe"]
