"""Media on real calls over loopback: the audio itself, codecs, barge-in, voicemail, hostile RTP, REFER."""

from __future__ import annotations

import array
import math
import selectors
import socket
import struct
import statistics
import stat
import time
import wave


from ivr.system import recordings
from ivr.channels.sip.media.prompts import read_pcm, render_tts

from ..audioop_shim import audioop  # an independent G.711 decoder, not ours
from tests.procs import wait_until

from .apps import WELCOME, Recorded, menu_app, transfer_app, voicemail_app
from .conftest import header, parse_sip


SILENT_PCMU = b"\xff" * 160


def capture_rtp(sock: socket.socket, seconds: float, count: int | None = None) -> list[bytes]:
    """RTP packets for up to `seconds` (or until `count` of them arrived)."""
    packets, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline and (count is None or len(packets) < count):
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            packets.append(sock.recvfrom(2048)[0])
        except socket.timeout:
            break
    return packets


def rtp_until_bye(uac, timeout: float = 20.0) -> tuple[list[bytes], dict | None]:
    """Every RTP packet the server sends until its BYE arrives on the SIP socket (with the BYE)."""
    packets, deadline = [], time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(uac.rtp, selectors.EVENT_READ)
        selector.register(uac.sock, selectors.EVENT_READ)
        while (remaining := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(remaining):
                data = key.fileobj.recv(65535)
                if key.fileobj is uac.rtp:
                    packets.append(data)
                elif (message := parse_sip(data))["method"] == "BYE":
                    return packets, message
    return packets, None


def first_voiced_rtp(sock: socket.socket, timeout: float = 10.0) -> bytes | None:
    """The first packet that carries sound (a prompt playing), skipping the stream's silence frames."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        for packet in capture_rtp(sock, remaining, count=1):
            if packet[12:] != SILENT_PCMU:
                return packet
    return None


def envelope(pcm16: bytes, window: int = 80) -> list[float]:
    """RMS level per 10 ms window."""
    samples = array.array("h", pcm16[: len(pcm16) // 2 * 2])
    return [
        math.sqrt(sum(x * x for x in samples[i : i + window]) / window)
        for i in range(0, len(samples) - window + 1, window)
    ]


def best_correlation(reference: list[float], captured: list[float]) -> float:
    """The best Pearson correlation of the reference envelope against any alignment in the capture."""
    best = 0.0
    for offset in range(0, len(captured) - len(reference) + 1):
        window = captured[offset : offset + len(reference)]
        if statistics.pstdev(window) > 0:
            best = max(best, statistics.correlation(reference, window))
    return best


def test_the_rtp_we_send_decodes_to_the_prompt_in_real_a_law(start_server, uac_factory, tmp_path):
    running = start_server(menu_app(Recorded(), timeout=1))
    uac = uac_factory(running.port)
    ok = uac.call(codecs="8 101")
    assert "PCMA/8000" in ok["body"]
    packets = capture_rtp(uac.rtp, 4.0)
    assert packets and {p[1] & 0x7F for p in packets} == {8}
    payload = b"".join(p[12:] for p in packets)
    captured = audioop.alaw2lin(payload, 2)  # the stdlib's A-law decoder, not ours
    reference = read_pcm(render_tts(WELCOME, tmp_path / "data" / "prompts"))  # the server's cached rendering
    ref_env, cap_env = envelope(reference), envelope(captured)
    assert max(cap_env) > 1000  # speech, not silence
    assert best_correlation(ref_env, cap_env) > 0.95  # the prompt itself, not noise
    # Frames are paced: one packet per 20 ms, timestamps advance by 160, sequence by 1
    seqs = [int.from_bytes(p[2:4], "big") for p in packets]
    stamps = [int.from_bytes(p[4:8], "big") for p in packets]
    assert all((b - a) % 65536 == 1 for a, b in zip(seqs, seqs[1:]))
    assert all((b - a) % 2**32 == 160 for a, b in zip(stamps, stamps[1:]))


def test_prompts_are_rendered_once_and_cached_on_disk(start_server, uac_factory, tmp_path):
    running = start_server(menu_app(Recorded(), timeout=0.5))
    uacs = [uac_factory(running.port) for _ in range(4)]
    for uac in uacs:
        uac.invite()
    for uac in uacs:
        assert uac.recv(5, want=lambda m: m["status"] == 200) is not None
    for uac in uacs:  # every call is playing the prompt: it was rendered for all of them
        assert first_voiced_rtp(uac.rtp), "a call never played its prompt"
    assert running.server.prompts.renders == 1  # four concurrent calls, one espeak-ng run
    cached = list((tmp_path / "data" / "prompts").glob("*.wav"))
    assert len(cached) == 1
    assert stat.S_IMODE(cached[0].stat().st_mode) == 0o600 and stat.S_IMODE(cached[0].parent.stat().st_mode) == 0o700


def test_barge_in_stops_the_prompt_and_keeps_the_digit(start_server, uac_factory):
    record = Recorded()
    running = start_server(menu_app(record, timeout=5))
    uac = uac_factory(running.port)
    ok = uac.call()
    media = uac.media_port(ok)
    assert first_voiced_rtp(uac.rtp), "the prompt never started"  # the digit comes while it plays
    for i, duration in enumerate((160, 320, 480, 480)):
        flags = 0x8A if duration == 480 else 0x0A
        uac.send_rtp(101, bytes([2, flags]) + duration.to_bytes(2, "big"), seq=10 + i, ts=5000, to_port=media)
    bye = uac.recv(10, want=lambda m: m["method"] == "BYE")
    uac.answer_200(bye)
    assert record.digits == ["2"]


def test_gather_timeout_counts_from_the_end_of_the_prompt(start_server, uac_factory):
    """Durations in media time, from the RTP timestamps the caller receives (the stream is unbroken: silence
    frames fill the gather), so a loaded machine cannot make the test pass or fail."""
    marks = {}

    async def app(call):
        marks["finished"] = await call.say(text=WELCOME)
        marks["digits"] = await call.gather(timeout=1.0)

    running = start_server(app)
    uac = uac_factory(running.port)
    uac.call()  # PCMU
    packets, bye = rtp_until_bye(uac)
    assert bye is not None
    uac.answer_200(bye)
    assert marks == {"finished": True, "digits": ""}
    stamps = [int.from_bytes(p[4:8], "big") for p in packets]
    voiced = [i for i, p in enumerate(packets) if p[12:] != SILENT_PCMU]
    assert voiced and all((b - a) % 2**32 == 160 for a, b in zip(stamps, stamps[1:]))  # no gap in the stream
    prompt_seconds = ((stamps[voiced[-1]] - stamps[voiced[0]]) % 2**32 + 160) / 8000
    gather_seconds = ((stamps[-1] - stamps[voiced[-1]]) % 2**32) / 8000
    assert prompt_seconds > 1.5  # the prompt really played (about 2 s of speech)
    assert gather_seconds >= 0.95  # silence for the gather's timeout after the prompt ended, not from the start


def voicemail_call_and_a_stranger(start_server, uac_factory):
    """(record, uac, its media port on the IVR, a stranger's socket, a loud PCMU frame): a caller in voicemail, and
    another address on loopback that can send RTP to the same port."""
    record = Recorded()
    running = start_server(voicemail_app(record, max_length=30, silence_timeout=10, beep=False))
    uac = uac_factory(running.port)
    media = uac.media_port(uac.call())
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind(("127.0.0.1", 0))
    return record, uac, media, stranger, audioop.lin2ulaw(array.array("h", [4000] * 160).tobytes(), 2)


def test_voicemail_ends_on_a_digit_and_ignores_foreign_rtp_and_timestamp_jumps(start_server, uac_factory):
    record, uac, media, stranger, voice = voicemail_call_and_a_stranger(start_server, uac_factory)
    try:
        for i in range(50):  # the caller, with a 2^31 timestamp jump on every packet
            uac.send_rtp(0, voice, seq=i, ts=i * (2**31 + 160), to_port=media)
            uac.send_rtp(0, voice, seq=i, ts=i * 7919, to_port=media, sock=stranger)
        assert wait_until(lambda: record.calls), "the call never reached the application"
        stream = record.calls[0].stream
        assert wait_until(lambda: stream.packets_received + stream.foreign_packets == 100), "RTP not all received"
        for i in range(4):
            uac.send_rtp(101, bytes([11, 0x8A, 1, 0]), seq=60 + i, ts=99999, to_port=media)
        bye = uac.recv(5, want=lambda m: m["method"] == "BYE")
        uac.answer_200(bye)
    finally:
        stranger.close()
    recording, duration = record.results[0]
    assert recording.reference == "recording:" + recording.path.stem  # an id this product made, not a path
    with wave.open(str(recording.path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        assert wav.getnframes() == 50 * 160  # exactly the caller's packets: no zero-fill, no stranger audio
    assert abs(duration - 1.0) < 1e-6
    stream = record.calls[0].stream
    assert stream.foreign_packets == 50


def test_voicemail_ends_on_silence(start_server, uac_factory):
    record = Recorded()
    running = start_server(voicemail_app(record, max_length=30, silence_timeout=0.5, beep=True))
    uac = uac_factory(running.port)
    media = uac.media_port(uac.call())
    for i in range(60):  # paced by the server's own stream, as a phone's clock would be: one frame per frame
        uac.send_rtp(0, SILENT_PCMU, seq=i, ts=i * 160, to_port=media)
        capture_rtp(uac.rtp, 1.0, count=1)  # the server's next frame (none comes once the recording ended)
        if record.results:
            break
    bye = uac.recv(5, want=lambda m: m["method"] == "BYE")
    uac.answer_200(bye)
    recording, duration = record.results[0]
    assert 0.45 <= duration <= 0.6 and recording.path.exists()
    # what the admin's player and the email job read back: this call's file, and for no other call
    call_id = record.calls[0].call_id
    assert recordings.resolve(recording.reference, recording.path.parent, call_id).path == recording.path
    assert recordings.resolve(recording.reference, recording.path.parent, call_id + "x") is None
    # a caller's voice is the owner's alone (issue 12 item 8)
    path = recording.path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700  # the data directory made for it


def _answer_refer(uac, status: int, notify_status: int | None) -> None:
    refer = uac.recv(5, want=lambda m: m["method"] == "REFER")
    assert refer is not None and "sip:sales@" in header(refer, "refer-to")
    lines = [f"SIP/2.0 {status} {'Accepted' if status == 202 else 'Decline'}"]
    lines += [f"Via: {v}" for v in refer["headers"]["via"]]
    lines += [f"{n.title()}: {header(refer, n)}" for n in ("from", "to", "call-id", "cseq")]
    uac.send_raw(("\r\n".join(lines + ["Content-Length: 0", "", ""])).encode())
    if notify_status is not None:
        body = f"SIP/2.0 {notify_status} OK\r\n"
        uac.request(
            "NOTIFY",
            to_tag=uac.to_tag,
            body=body,
            content_type="message/sipfrag;version=2.0",
            extra="Event: refer\r\nSubscription-State: terminated;reason=noresource",
        )
        assert uac.recv(3, want=lambda m: "NOTIFY" in header(m, "cseq"))["status"] == 200


def test_blind_transfer_with_refer_succeeds(start_server, uac_factory):
    record = Recorded()
    running = start_server(transfer_app(record))
    uac = uac_factory(running.port)
    uac.call()
    _answer_refer(uac, 202, 200)
    bye = uac.recv(5, want=lambda m: m["method"] == "BYE")
    uac.answer_200(bye)
    assert record.results[0].ok is True


def test_refused_transfer_reports_failure(start_server, uac_factory):
    record = Recorded()
    running = start_server(transfer_app(record))
    uac = uac_factory(running.port)
    uac.call()
    _answer_refer(uac, 603, None)
    bye = uac.recv(10, want=lambda m: m["method"] == "BYE")
    uac.answer_200(bye)
    assert record.results[0].ok is False and record.results[0].reason == "refused"


def test_a_transfer_refers_to_the_normalized_number_at_the_pbx(start_server, uac_factory):
    record = Recorded()
    running = start_server(transfer_app(record, target="+1 (２１２) ٥٥٥-0123"))
    uac = uac_factory(running.port)
    uac.call()
    refer = uac.recv(5, want=lambda m: m["method"] == "REFER")
    assert header(refer, "refer-to").strip("<>") == "sip:+12125550123@127.0.0.1"


def test_a_transfer_to_a_number_the_policy_refuses_sends_no_refer(start_server, uac_factory):
    record = Recorded()
    running = start_server(transfer_app(record, target="+1٩٠٠٥٥٥١٢٣٤"))
    uac = uac_factory(running.port)
    uac.call()
    first = uac.recv(10, want=lambda m: m["method"] in ("REFER", "BYE"))
    assert first["method"] == "BYE"  # "Transfer failed." and the app ended the call: never a REFER
    uac.answer_200(first)
    assert record.results[0].ok is False and record.results[0].reason == "refused"


def test_rtp_hijack_a_stranger_that_sends_first_loses_the_stream_to_the_offered_address(start_server, uac_factory):
    record, uac, media, stranger, voice = voicemail_call_and_a_stranger(start_server, uac_factory)

    def strange(payload_type: int, seq: int) -> None:  # the stranger's own SSRC (it cannot see the caller's)
        header = struct.pack("!BBHII", 0x80, payload_type, seq, seq * 160, 0xBEEF)
        stranger.sendto(header + voice, ("127.0.0.1", media))

    try:
        assert wait_until(lambda: record.calls), "the call never reached the application"
        stream = record.calls[0].stream
        for i in range(5):  # junk that is not our codec: no latch
            strange(96, i)
        assert wait_until(lambda: stream.foreign_packets == 5)
        for i in range(5):  # the stranger races the caller and sends first: latched, for now
            strange(0, 10 + i)
        assert wait_until(lambda: stream.packets_received == 5)
        for i in range(20):  # the caller, from the address its SDP named, wins the stream back
            uac.send_rtp(0, voice, seq=100 + i, ts=i * 160, to_port=media)
        assert wait_until(lambda: stream.packets_received == 25)
        for i in range(20):
            strange(0, 200 + i)
        assert wait_until(lambda: stream.foreign_packets == 25)
        assert stream.remote == ("127.0.0.1", uac.rtp_port)  # our RTP goes to the caller, not the stranger
        uac.rtp.settimeout(3)
        assert uac.rtp.recvfrom(2048)  # the caller receives our stream
    finally:
        stranger.close()
