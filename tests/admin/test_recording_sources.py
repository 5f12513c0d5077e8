"""A recording is a file the product wrote into its recordings directory, or a URL on Twilio's API host; nothing
a webhook names is ever served (issue 12 item 4: `RecordingUrl=secret-key` made the Flask secret key
downloadable by a viewer, who could then forge admin sessions)."""

from __future__ import annotations

import pytest

from ivr.call_session.wiring import open_call_session
from ivr.engine.events import Digits, RecordingDone
from ivr.settings import Settings
from ivr.store.users import Role, UserStore
from ivr.system import recordings
from ivr.web import create_app
from tests.twilio.conftest import Clock
from tests.twilio.twilio_caller import AUTH_TOKEN, KNOWN, PUBLIC_BASE, FlaskTransport, SignedPoster, TwilioCall

TWILIO_URL = "https://api.twilio.com/2010-04-01/Accounts/AC" + "0" * 32 + "/Recordings/RE" + "1" * 32


@pytest.fixture
def settings(settings) -> Settings:
    # No IVR_SECRET_KEY: the app keeps its key in <data_dir>/secret-key, the file the attack asked for.
    return settings.with_overrides(
        secret_key="",
        twilio_account_sid="",
        twilio_from_number="",
        twilio_api_base_url="",
        twilio_auth_token=AUTH_TOKEN,
        public_base_url=PUBLIC_BASE,
    )


@pytest.fixture
def app(settings, redis_conn, password_hash):  # conftest's `viewer` logs in to this one
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app({"IVR_SETTINGS": settings, "IVR_REDIS": redis_conn, "IVR_CLOCK": Clock(), "TESTING": True})
    UserStore(redis_conn).save_hashed("vic", password_hash, Role.VIEWER)
    return app


def voicemail_over_twilio(app, recording_url: str) -> str:
    """A caller reaches voicemail and Twilio's record webhook names `recording_url`; returns the CallSid."""
    call = TwilioCall(SignedPoster(FlaskTransport(app.test_client())), caller=KNOWN)
    call.answer()
    call.dial_result("busy")
    call._post(call.last.action("Record"), call.params(RecordingUrl=recording_url, RecordingDuration=5))
    return call.sid


def test_a_record_webhook_naming_a_local_file_serves_nothing(app, viewer, settings, caplog):
    secret = (settings.data_dir / "secret-key").read_text().strip()
    (settings.data_dir / "recordings").mkdir()
    sneaky = [
        "secret-key",
        str(settings.data_dir / "secret-key"),
        f"file://{settings.data_dir}/secret-key",
        "recordings/../secret-key",
        str(settings.data_dir / "recordings" / ".." / "secret-key"),
        "recording:../secret-key",
        "/etc/passwd",
        "http://evil.example.test/x.wav",
    ]
    for url in sneaky:
        sid = voicemail_over_twilio(app, url)
        response = viewer.get(f"/calls/{sid}/recordings/0")
        assert response.status_code == 404, url
        assert secret not in response.text
        page = viewer.get(f"/calls/{sid}").text
        assert "<audio" not in page and 'href="http://evil' not in page and secret not in page
    assert sum("ignored RecordingUrl" in r.getMessage() for r in caplog.records) == len(sneaky)


def test_twilio_recordings_are_linked_and_never_fetched(app, viewer):
    sid = voicemail_over_twilio(app, TWILIO_URL)
    page = viewer.get(f"/calls/{sid}").text
    assert f'href="{TWILIO_URL}"' in page and "<audio" not in page
    assert viewer.get(f"/calls/{sid}/recordings/0").status_code == 404


def test_only_a_recording_this_call_made_is_played(app, viewer, settings, redis_conn):
    session = open_call_session(settings, conn=redis_conn)
    folder = recordings.folder_in(settings.data_dir)
    made = recordings.new_recording(folder, "sip-call-1@host")
    folder.mkdir(parents=True, exist_ok=True)
    made.path.write_bytes(b"RIFF" + b"\0" * 40)
    (folder / "elsewhere.wav").symlink_to(settings.data_dir / "secret-key")
    (folder / "sip-call-5-7.wav").symlink_to(settings.data_dir / "secret-key")  # an id's name, but a link
    other_call = recordings.new_recording(folder, "sip-call-4")  # an id of the right call, but no file
    for call_id, url in (
        ("sip-call-1@host", made.reference),
        ("sip-call-2@host", made.reference),
        ("sip-call-3", str(made.path)),
        ("sip-call-4", other_call.reference),
        ("elsewhere", "recording:elsewhere"),
        ("sip-call-5", "recording:sip-call-5-7"),
    ):
        session.start(call_id=call_id, channel="sip", caller="+15550005555", called="+1555", at=1.0e9)
        session.turn(call_id, Digits(digits="0", at=1.0e9 + 5))
        session.turn(call_id, RecordingDone(url=url, duration=4, at=1.0e9 + 20))
    legacy = folder / "sip-legacy-5.wav"  # recorded before ids: the timeline holds the file's path
    legacy.write_bytes(b"RIFF legacy")
    session.start(call_id="sip-legacy", channel="sip", caller="+15550005555", called="+1555", at=1.0e9)
    session.turn("sip-legacy", RecordingDone(url=str(legacy), duration=4, at=1.0e9 + 20))
    response = viewer.get("/calls/sip-call-1@host/recordings/0")
    assert response.status_code == 200 and response.data.startswith(b"RIFF")
    assert "<audio" in viewer.get("/calls/sip-call-1@host").text
    assert viewer.get("/calls/sip-legacy/recordings/0").data == b"RIFF legacy"
    # another call's recording, a bare path, a file that does not exist, an id that is not one this product made
    for call_id in ("sip-call-2@host", "sip-call-3", "sip-call-4", "elsewhere", "sip-call-5"):
        assert viewer.get(f"/calls/{call_id}/recordings/0").status_code == 404, call_id
        assert "<audio" not in viewer.get(f"/calls/{call_id}").text
