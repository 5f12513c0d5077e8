"""Optional registration to a PBX or SIP trunk (settings: sip_registrar, sip_user, sip_password, expiry).

aiosipua's `Registration` does the REGISTER/401/407 digest dance and refreshes before expiry, but
sends each REGISTER once and gives up after a failure. This keeper re-sends a REGISTER that got no
answer, retries failed or expired registrations every `retry` seconds, and logs every change in
words an operator can act on. Without a registrar the endpoint simply listens (softphones dial
`sip:anything@HOST:PORT` directly).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time

from aiosipua import Registration, RegistrationState, SipDigestAuth, SipUAC

from .aiosipua_adapter import cancel_refresh

log = logging.getLogger(__name__)


def parse_registrar(value: str) -> tuple[str, int]:
    """ "pbx.example.com", "pbx.example.com:5080", "sip:pbx.example.com:5080" -> (host, port)."""
    host, _, port = value.strip().removeprefix("sip:").split(";")[0].partition(":")
    return host, int(port) if port else 5060


class RegistrationKeeper:
    def __init__(
        self,
        endpoint,
        registrar: str,
        user: str,
        password: str,
        expiry: int,
        retry: float = 30.0,
        answer_timeout: float = 8.0,
    ) -> None:
        self.endpoint = endpoint
        self.host, self.port = parse_registrar(registrar)
        self.user, self.password, self.expiry = user, password, expiry
        self.retry, self.answer_timeout = retry, answer_timeout
        self.registration: Registration | None = None
        self.registered_count = 0
        self._sent_at = 0.0
        self._task: asyncio.Task | None = None

    @property
    def state(self) -> RegistrationState | None:
        return self.registration.state if self.registration is not None else None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(self.host, self.port, family=socket.AF_INET, type=socket.SOCK_DGRAM)
        address = infos[0][4][:2]
        uac = SipUAC(self.endpoint.transport, advertised_addr=self.endpoint.advertised_addr)
        self.endpoint.uac = uac
        auth = SipDigestAuth(self.user, self.password) if self.password else None
        self.registration = reg = Registration(
            uac, f"sip:{self.user}@{self.host}", address, expires=self.expiry, auth=auth, user_agent="ivr"
        )
        reg.on_registered = self._registered
        reg.on_failed = lambda _r, status, reason: log.error(
            "SIP registration to %s:%d as %s FAILED: %d %s (check IVR_SIP_USER/IVR_SIP_PASSWORD); retrying in %.0f s",
            self.host,
            self.port,
            self.user,
            status,
            reason,
            self.retry,
        )
        reg.on_expired = lambda _r: log.error(
            "SIP registration to %s:%d expired; registering again", self.host, self.port
        )
        self._task = loop.create_task(self._keep())

    def _registered(self, reg: Registration) -> None:
        self.registered_count += 1
        log.info("SIP registered to %s:%d as %s for %d s", self.host, self.port, self.user, reg.granted_expires)

    def _send(self) -> None:
        self._sent_at = time.monotonic()
        self.registration.register()

    async def _keep(self) -> None:
        self._send()
        last_failure = 0.0
        while True:
            await asyncio.sleep(1.0)
            state, now = self.registration.state, time.monotonic()
            if state == RegistrationState.REGISTERING and now - self._sent_at > self.answer_timeout:
                log.error("SIP registrar %s:%d does not answer; sending REGISTER again", self.host, self.port)
                self._send()
            elif state in (RegistrationState.FAILED, RegistrationState.EXPIRED):
                if now - max(last_failure, self._sent_at) >= self.retry:
                    last_failure = now
                    self._send()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self.registration is not None and self.registration.state == RegistrationState.REGISTERED:
            self.registration.unregister()
        if self.registration is not None:
            cancel_refresh(self.registration)
