"""follow_up `link` and `template` reach the email and the SMS (through a real worker, aiosmtpd, the fake Twilio)."""

from __future__ import annotations

from ivr.flows import validate_text
from ivr.store.followups import FollowupStore


def _templates(harness, tmp_path, files: dict[str, str]):
    """The worker's flows folder gets these templates (a folder of the test's own, never the repo's flows/)."""
    harness.settings = harness.settings.with_overrides(flows_dir=tmp_path / "flows")
    folder = tmp_path / "flows" / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)


def test_link_is_added_to_the_sms_and_the_email(harness, smtp_sink, twilio_api):
    harness.queue_job("sms", "c1:sms:1", {"to": "+12125550001", "message": "Our help:", "link": "https://h.test/x"})
    harness.queue_job("email", "c1:mail:1", {"to": "o@example.test", "message": "Help.", "link": "https://h.test/y"})
    harness.work()
    assert [m["body"] for m in twilio_api.messages] == ["Our help:\nhttps://h.test/x"]
    assert smtp_sink.wait_for(1)
    mail = smtp_sink.messages[0]
    assert "https://h.test/y" in mail.get_body(("plain",)).get_content()
    assert 'href="https://h.test/y"' in mail.get_body(("html",)).get_content()


def test_flow_templates_render_in_the_sandbox(harness, tmp_path, smtp_sink, twilio_api):
    _templates(
        harness,
        tmp_path,
        {
            "thanks.txt": "Thanks {{ caller }}! {{ link }}",
            "thanks.html": "<p>Hi {{ message }}</p>",
            "plain.txt": "Only text for {{ caller }}",
        },
    )
    harness.queue_job(
        "sms",
        "c1:sms:2",
        {"to": "+12125550001", "template": "thanks", "link": "https://h.test/z", "caller": "+12125550001"},
    )
    harness.queue_job(
        "email", "c1:mail:2", {"to": "o@example.test", "template": "thanks", "message": "<b>x</b>", "caller": "+1"}
    )
    harness.queue_job("email", "c1:mail:3", {"to": "o@example.test", "template": "plain", "caller": "+1"})
    harness.work()
    assert [m["body"] for m in twilio_api.messages] == ["Thanks +12125550001! https://h.test/z"]
    assert smtp_sink.wait_for(2)
    by_subject = {m["Message-ID"]: m for m in smtp_sink.messages}
    html = [m for m in by_subject.values() if m.get_body(("html",)) is not None]
    assert len(html) == 1 and "<p>Hi &lt;b&gt;x&lt;/b&gt;</p>" in html[0].get_body(("html",)).get_content()
    texts = sorted(m.get_body(("plain",)).get_content().strip() for m in smtp_sink.messages)
    assert texts == ["Only text for +1", "Thanks +1! "] or texts == ["Only text for +1", "Thanks +1!"]


def test_a_missing_or_unsafe_template_fails_for_good(harness, tmp_path, twilio_api):
    _templates(harness, tmp_path, {"evil.txt": "{{ ''.__class__.__mro__ }}"})
    harness.queue_job("sms", "c1:sms:3", {"to": "+12125550001", "template": "nope"})
    harness.queue_job("sms", "c1:sms:4", {"to": "+12125550001", "template": "evil"})
    harness.work()
    records = FollowupStore(harness.conn)
    assert records.get("c1:sms:3")["status"] == "failed" and "TemplateNotFound" in records.get("c1:sms:3")["detail"]
    assert records.get("c1:sms:4")["status"] == "failed" and "Security" in records.get("c1:sms:4")["detail"]
    assert twilio_api.messages == []


FLOW = """id: t
start: text
steps:
  text:
    type: follow_up
    kind: sms
    to: "{{caller.number}}"
    template: thanks
    next: bye
  bye:
    type: hangup
"""


def test_validate_reports_a_missing_template_at_its_line(tmp_path):
    [problem] = validate_text(FLOW, "t.yaml", flows_dir=tmp_path)
    assert (problem.line, problem.message) == (
        8,
        f"steps.text.template: no templates/thanks.txt in {tmp_path} (a Jinja2 template)",
    )
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "thanks.txt").write_text("Thanks")
    assert validate_text(FLOW, "t.yaml", flows_dir=tmp_path) == []
