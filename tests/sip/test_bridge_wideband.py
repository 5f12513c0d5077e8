"""A bridged transfer of a wideband caller: the owner's leg is offered the caller's codec alone, the relay passes
G.722 through untouched both ways (no transcoding, no loss of band), the caller hears ringback in G.722, and a
recorded bridge decodes both legs into one WAV."""

from __future__ import annotations

import re
import wave

from ivr.channels.sip.bridge import STATS
from ivr.channels.sip.media import codecs
from ivr.engine.actions import Transfer
from ivr.system import recordings

from .apps import Recorded
from .raw_owner import rtp
from .test_bridge import bridge_app, caller_rtp, drain, owner  # noqa: F401  (owner: a fixture)
from .test_bridge_baresip import power_at
from .test_codecs import tone
from .test_media_calls import wait_until

G722 = codecs.CODECS["g722"]


def test_a_g722_caller_is_bridged_to_a_g722_owner_untouched_and_recorded(
    start_server,
    uac_factory,
    owner,  # noqa: F811
):
    record = Recorded()
    running = start_server(bridge_app(record, Transfer(target=owner.uri, timeout=10, record=True)))
    caller = uac_factory(running.port)
    ivr_port = caller.media_port(caller.call(codecs="9 101"))
    invite = owner.wait_invite()
    assert re.search(r"m=audio \d+ RTP/AVP 9 101\r\n", invite["body"]), invite["body"]  # the caller's codec alone
    ringback = caller_rtp(caller, 30)
    assert {p[1] & 0x7F for p in ringback} == {9} and any(p[12:] != G722.silence for p in ringback)
    before = STATS.bridged
    owner.answer(payload_type=9)
    assert wait_until(lambda: STATS.bridged > before)
    drain(owner.rtp)
    drain(caller.rtp)
    caller_voice = G722.encode_prompt(tone(440, 1.0, rate=16000))
    owner_voice = G722.encode_prompt(tone(1100, 1.0, rate=16000))
    for seq in range(50):  # both talk at once
        caller.send_rtp(9, caller_voice[seq], seq, 160 * seq, to_port=ivr_port)
        owner.send_rtp(rtp(9, seq, 160 * seq, owner_voice[seq]))
    heard_by_owner, heard_by_caller = owner.rtp_packets(50), caller_rtp(caller, 50)
    assert [p[12:] for p in heard_by_owner] == list(caller_voice)  # byte for byte: passed through
    assert [p[12:] for p in heard_by_caller] == list(owner_voice)
    assert {p[1] & 0x7F for p in heard_by_owner + heard_by_caller} == {9}
    assert owner.bye()["status"] == 200
    assert wait_until(lambda: bool(record.results)) and record.results[0].ok
    folder = recordings.folder_in(running.server.config.data_dir)
    found = recordings.resolve(record.results[0].recording, folder, caller.call_id)
    assert found is not None and found.path is not None
    with wave.open(str(found.path)) as wav:
        mixed = wav.readframes(wav.getnframes())
    assert power_at(mixed, 440) > 0.2 * power_at(mixed, 1100) > 0  # both voices, decoded from G.722
    assert running.wait_idle()["ports"] == 0
