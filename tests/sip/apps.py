"""Small IVR scripts on the SipCall API, used by the endpoint and media tests (the engine runs the real flows)."""

from __future__ import annotations

import asyncio

WELCOME = "Welcome. Press 1 for sales."


class Recorded:
    """Remembers what each call did, for assertions."""

    def __init__(self) -> None:
        self.digits: list[str] = []
        self.calls: list = []
        self.results: list = []


def menu_app(record: Recorded, timeout: float = 6.0):
    async def app(call):
        record.calls.append(call)
        await call.say(text=WELCOME)
        digit = await call.gather(max_digits=1, timeout=timeout)
        record.digits.append(digit)
        await call.say(text=f"You pressed {digit or 'nothing'}. Goodbye.")

    return app


def hold_app(record: Recorded, seconds: float = 30.0):
    async def app(call):
        record.calls.append(call)
        digits = await call.gather(max_digits=20, timeout=seconds, inter_digit_timeout=seconds)
        record.digits.append(digits)

    return app


def transfer_app(record: Recorded, target: str = "sip:sales@127.0.0.1"):
    async def app(call):
        record.calls.append(call)
        record.results.append(await call.transfer(target, timeout=5))
        if not record.results[-1].ok:
            await call.say(text="Transfer failed.")

    return app


def voicemail_app(record: Recorded, **kwargs):
    async def app(call):
        record.calls.append(call)
        record.results.append(await call.record(**kwargs))

    return app


async def never(_call):
    await asyncio.sleep(3600)
