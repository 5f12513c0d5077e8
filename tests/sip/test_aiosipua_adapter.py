"""Each reliance of ivr/channels/sip/aiosipua_adapter.py on aiosipua's internals, against the locked aiosipua.

Real aiosipua objects on a real loopback UDP socket (our IvrUdpTransport: aiosipua's own asserts at start);
an aiosipua upgrade that moves an internal fails here, by name.
"""

from __future__ import annotations

import asyncio
import socket
import uuid

from aiosipua import Registration, SipMessage, SipRequest, SipResponse, build_sdp

from ivr.channels.sip.aiosipua_adapter import (
    UasAdapter,
    cancel_refresh,
    failure_ack,
    is_answered,
    read_sip_message,
    rejection,
    response_destination,
    set_udp_socket,
    stamp_via_received,
    stop_retransmissions,
    udp_socket,
)
from ivr.channels.sip.transport import IvrUdpTransport


class Peer:
    """The other side: a plain UDP socket that sends raw SIP and reads what comes back."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.call_id = uuid.uuid4().hex

    def request(self, method: str, to: tuple[str, int], body: str = "", call_id: str = "") -> str:
        lines = [
            f"{method} sip:ivr@127.0.0.1:{to[1]} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{uuid.uuid4().hex[:12]};rport",
            f"From: <sip:peer@127.0.0.1:{self.port}>;tag=peer1",
            f"To: <sip:ivr@127.0.0.1:{to[1]}>",
            f"Call-ID: {call_id or self.call_id}",
            f"CSeq: 1 {method}",
            f"Contact: <sip:peer@127.0.0.1:{self.port}>",
            "Max-Forwards: 70",
        ]
        if body:
            lines.append("Content-Type: application/sdp")
        return "\r\n".join([*lines, f"Content-Length: {len(body)}", "", body])

    def send(self, text: str, to: tuple[str, int]) -> None:
        self.sock.sendto(text.encode(), to)

    async def receive(self, want=lambda _m: True, timeout: float = 5.0) -> SipMessage:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            while True:
                data = await loop.sock_recv(self.sock, 65535)
                msg = SipMessage.parse(data)
                if want(msg):
                    return msg


SDP = "v=0\r\no=p 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"


async def started() -> tuple[UasAdapter, tuple[str, int]]:
    adapter = UasAdapter(IvrUdpTransport(local_addr=("127.0.0.1", 0)), user_agent="test")
    await adapter.start()
    return adapter, adapter.transport.local_addr


def adapter_test(body):
    """A test that awaits `body(adapter, addr)` against a started UasAdapter, stopped afterwards (20 s at most)."""

    def test() -> None:
        async def main() -> None:
            adapter, addr = await started()
            try:
                await body(adapter, addr)
            finally:
                await adapter.stop()

        asyncio.run(asyncio.wait_for(main(), 20))

    test.__name__, test.__doc__ = body.__name__, body.__doc__
    return test


async def invited(adapter: UasAdapter, addr: tuple[str, int]):
    """(peer, call): a Peer sends an INVITE with SDP, and the adapter's IncomingCall for it."""
    peer, call = Peer(), asyncio.get_running_loop().create_future()
    adapter.on_invite = call.set_result
    peer.send(peer.request("INVITE", addr, body=SDP), addr)
    return peer, await call


@adapter_test
async def test_claim_sees_requests_first_and_the_rest_reach_aiosipua(adapter: UasAdapter, addr: tuple[str, int]):
    """`_on_message` -> `_handle_request` -> `_handlers[method]`: a claim takes its own, aiosipua answers others."""
    peer, claimed = Peer(), []
    adapter.claim("OPTIONS", lambda request, _a: request.call_id == "mine" and not claimed.append(request))
    peer.send(peer.request("OPTIONS", addr, call_id="mine"), addr)
    peer.send(peer.request("OPTIONS", addr, call_id="other"), addr)
    answer = await peer.receive()
    assert answer.status_code == 200 and answer.call_id == "other"
    assert [r.call_id for r in claimed] == ["mine"]


@adapter_test
async def test_route_replaces_aiosipua_handler(adapter: UasAdapter, addr: tuple[str, int]):
    peer, seen = Peer(), asyncio.get_running_loop().create_future()
    adapter.route("INFO", lambda request, _a: seen.set_result(request.method))
    peer.send(peer.request("INFO", addr), addr)
    assert await seen == "INFO"


@adapter_test
async def test_watchers_see_every_response(adapter: UasAdapter, addr: tuple[str, int]):
    peer, seen = Peer(), asyncio.get_running_loop().create_future()
    adapter.watch_responses(lambda response: seen.set_result(response.status_code))
    peer.send(
        f"SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 127.0.0.1:{addr[1]};branch=z9hG4bKx\r\n"
        f"Call-ID: c\r\nCSeq: 1 INVITE\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\n"
        "Content-Length: 0\r\n\r\n",
        addr,
    )
    assert await seen == 486


@adapter_test
async def test_call_table_answered_flag_retransmissions_and_invite_transaction(
    adapter: UasAdapter, addr: tuple[str, int]
):
    """`_calls` is the live table; `_answered`, `_stop_retransmissions`, `_remove_invite_transaction` exist."""
    peer, call = await invited(adapter, addr)
    assert adapter.calls[call.call_id] is call and not is_answered(call)
    call.accept(build_sdp("127.0.0.1", 40002, 0, "PCMU"))
    assert (await peer.receive(lambda m: getattr(m, "status_code", 0) == 200)).call_id == call.call_id
    assert is_answered(call)
    stop_retransmissions(call)
    assert adapter.transactions.match_request(call.invite) is not None
    adapter.forget_invite(call.invite)
    assert adapter.transactions.match_request(call.invite) is None
    adapter.calls.pop(call.call_id)
    assert call.call_id not in adapter.active_calls


@adapter_test
async def test_send_error_and_in_dialog_checks(adapter: UasAdapter, addr: tuple[str, int]):
    peer, call = await invited(adapter, addr)
    stray = SipMessage.parse(peer.request("INFO", addr, call_id="nobody").encode())
    stamp_via_received(stray, ("127.0.0.1", peer.port))
    adapter.send_error(stray, 481, "Call/Transaction Does Not Exist")
    assert (await peer.receive(lambda m: getattr(m, "status_code", 0) == 481)).call_id == "nobody"
    in_call = SipMessage.parse(peer.request("INFO", addr).encode().replace(b"CSeq: 1", b"CSeq: 2"))
    in_call.headers.set_single("To", f"<sip:ivr@127.0.0.1:{addr[1]}>;tag={call.dialog.local_tag}")
    assert adapter.in_dialog(call.dialog, in_call)
    in_call.headers.set_single("To", f"<sip:ivr@127.0.0.1:{addr[1]}>;tag=someone-else")
    assert not adapter.in_dialog(call.dialog, in_call)  # aiosipua answered it 481 itself


@adapter_test
async def test_serve_ack_confirms_the_dialog(adapter: UasAdapter, addr: tuple[str, int]):
    peer, call = await invited(adapter, addr)
    call.accept(build_sdp("127.0.0.1", 40002, 0, "PCMU"))
    ok = await peer.receive(lambda m: getattr(m, "status_code", 0) == 200)
    ack = SipMessage.parse(peer.request("ACK", addr).encode())
    ack.headers.set_single("To", ok.get_header("to"))
    adapter.serve_ack(ack, ("127.0.0.1", peer.port))
    assert call.dialog.state.name == "CONFIRMED"


@adapter_test
async def test_rejection_and_failure_ack_for_our_invite(adapter: UasAdapter, addr: tuple[str, int]):
    """`OutgoingCall._reject_code/_reject_reason`; the ACK to a 486 keeps the INVITE's branch, takes its To."""
    peer = Peer()
    uac = adapter.client()
    assert adapter.client() is uac
    outgoing = uac.send_invite(
        "sip:ivr@127.0.0.1",
        f"sip:peer@127.0.0.1:{peer.port}",
        ("127.0.0.1", peer.port),
        build_sdp("127.0.0.1", 40004, 0, "PCMU"),
    )
    invite = await peer.receive()
    busy = SipResponse(status_code=486, reason_phrase="Busy Here")
    for name in ("via", "from", "call-id", "cseq"):
        busy.headers.set_single(name, invite.get_header(name))
    busy.headers.set_single("to", invite.get_header("to") + ";tag=callee")
    peer.send(str(bytes(busy), "utf-8"), addr)
    try:
        await outgoing.wait_answered(timeout=5)
    except RuntimeError:
        pass
    assert rejection(outgoing) == (486, "Busy Here")
    ack = failure_ack(outgoing, SipMessage.parse(bytes(busy)))
    assert ack.method == "ACK" and ack.get_header("via") == invite.get_header("via")
    assert ack.get_header("to").endswith("tag=callee") and ack.get_header("cseq") == f"{busy.cseq.seq} ACK"


@adapter_test
async def test_transport_socket_and_via_helpers(adapter: UasAdapter, addr: tuple[str, int]):
    """`UdpSipTransport._udp_transport`, `transport._stamp_via_received`, `transport._response_destination`."""
    assert adapter.local_address() == addr
    sock = udp_socket(adapter.transport)
    assert sock is not None and sock.get_extra_info("sockname")[1] == addr[1]
    set_udp_socket(adapter.transport, None)
    assert udp_socket(adapter.transport) is None
    set_udp_socket(adapter.transport, sock)
    request = SipMessage.parse(Peer().request("OPTIONS", addr).encode())
    assert isinstance(request, SipRequest)
    stamp_via_received(request, ("127.0.0.2", 5999))
    assert "received=127.0.0.2" in request.get_header("via") and "rport=5999" in request.get_header("via")
    assert response_destination(request) == ("127.0.0.2", 5999)


@adapter_test
async def test_cancel_refresh_stops_the_registration_timer(adapter: UasAdapter, _addr: tuple[str, int]):
    """`Registration._cancel_timers()`: the refresh task aiosipua schedules is cancelled and forgotten."""
    registration = Registration(adapter.client(), "sip:ivr@127.0.0.1", ("127.0.0.1", 9))
    refresh = asyncio.get_running_loop().create_task(asyncio.sleep(60))
    registration._refresh_task = refresh
    cancel_refresh(registration)
    await asyncio.sleep(0)
    assert refresh.cancelled() and registration._refresh_task is None


def test_read_sip_message_frames_a_stream_by_content_length():
    """`transport._read_sip_message` (streams.py): one message per call, its body by Content-Length, None at EOF."""

    async def scenario():
        reader = asyncio.StreamReader()
        one = b"OPTIONS sip:a@b SIP/2.0\r\nl: 5\r\n\r\nhello"
        two = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n"
        reader.feed_data(one + two)
        reader.feed_eof()
        return [await read_sip_message(reader), await read_sip_message(reader), await read_sip_message(reader)]

    assert asyncio.run(scenario()) == [
        b"OPTIONS sip:a@b SIP/2.0\r\nl: 5\r\n\r\nhello",
        b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n",
        None,
    ]
