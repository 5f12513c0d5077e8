"""Run one SIPVicious tool (svmap, svwar, svcrack) with a chosen User-Agent and a source address that holds.

`python sipvicious_run.py USER_AGENT TOOL ARGS...`. SIPVicious 0.3.8 has no User-Agent option (it always sends
`friendly-scanner`), and svwar and svcrack ignore `-b` (their main() never passes the binding address on, so
they send from whatever the kernel picks: 127.0.0.1, our trusted source). Both are patched here, in the tool's
process only, so the attack really comes from the address and with the agent the test names.
"""

from __future__ import annotations

import importlib
import sys

import sipvicious.libs.svhelper as helper

CLASSES = {"svwar": "TakeASip", "svcrack": "ASipOfRedWine"}


def main() -> int:
    agent, tool, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    defaults = list(helper.makeRequest.__defaults__)
    defaults[defaults.index("friendly-scanner")] = agent
    helper.makeRequest.__defaults__ = tuple(defaults)
    module = importlib.import_module(f"sipvicious.{tool}")
    bind = args[args.index("-b") + 1] if "-b" in args else ""
    if tool in CLASSES and bind:
        cls = getattr(module, CLASSES[tool])
        original = cls.__init__
        cls.__init__ = lambda self, *a, **kw: original(self, *a, **{**kw, "bindingip": bind})
    sys.argv = [tool, *args]
    return module.main() or 0


if __name__ == "__main__":
    sys.exit(main())
