"""Our own calls offer the codecs of IVR_SIP_CODECS in that order and play in the one the answer picks: a callback
to baresip with only G.722 or only Opus loaded is answered and greeted in that codec."""

from __future__ import annotations

import pytest
from aiosipua import parse_sdp, serialize_sdp

from ivr.channels.sip.media_offer import answered_codec, build_offer
from ivr.store.callbacks import CallbackRequest

from .baresip_peer import baresip, free_sip_ports
from .test_callback_dial import last_outcome, sip_side, worker_dialer  # noqa: F401  (sip_side: a fixture)


def test_the_offer_lists_the_codecs_in_setting_order_and_the_answer_decides():
    offer = build_offer("192.0.2.10", 40000, ("g722", "opus", "pcmu"))
    audio = offer.audio
    assert audio.formats == ["9", "111", "0", "101"]
    assert audio.attributes["rtpmap"][:3] == ["9 G722/8000", "111 opus/48000/2", "0 PCMU/8000"]
    assert any(line.startswith("111 useinbandfec=1") for line in audio.attributes["fmtp"])
    assert "a=rtpmap:111 opus/48000/2" in serialize_sdp(offer)  # on the wire too
    answer = parse_sdp(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
        "m=audio 5000 RTP/AVP 111 101\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n"
    )
    codec, payload_type, dtmf = answered_codec(answer, ("g722", "opus", "pcmu"))
    assert (codec.name, payload_type, dtmf) == ("opus", 111, 101)
    assert answered_codec(answer, ("pcmu",)) is None  # an answer with none of ours
    with pytest.raises(ValueError, match="no codec"):
        build_offer("192.0.2.10", 40000, ())


@pytest.mark.slow  # a real baresip answering
@pytest.mark.parametrize(
    ("module", "codec", "rate", "channels"), [("g722.so", "G722", 16000, 1), ("opus.so", "opus", 48000, 2)]
)
def test_a_callback_is_greeted_in_the_codec_baresip_answers_with(
    sip_side,  # noqa: F811
    redis_server,
    tmp_path,
    module,
    codec,
    rate,
    channels,
):
    _, dialer = sip_side()
    port = free_sip_ports()
    target = f"sip:callee@127.0.0.1:{port}"
    accounts = "<sip:callee@127.0.0.1>;regint=0;answermode=auto\n"
    with baresip(tmp_path, modules=(module,), rate=rate, channels=channels, accounts=accounts, sip_port=port) as (
        ctrl,
        output,
    ):
        assert worker_dialer(redis_server, ring_timeout=10).place(target, CallbackRequest(id="cb-w", number=target))
        assert ctrl.wait_for("CALL_ESTABLISHED", 15) is not None, output()[-2000:]
        outcome = last_outcome(dialer, "cb-w-1")
    assert outcome["greeted"] and outcome["codec"] == codec and outcome["rtp_sent"] > 50, outcome
