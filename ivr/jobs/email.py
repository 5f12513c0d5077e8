"""email task: a follow-up mail over SMTP (smtplib), text + HTML from Jinja2 templates, voicemail attached or linked.

Settings: SMTP_HOST, SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD, SMTP_SECURITY (none | starttls | ssl), SMTP_FROM.
A voicemail the SIP channel recorded is attached, one on Twilio's API host is linked; any other recording
reference is neither read nor linked (`ivr.system.recordings` decides). The Message-ID is derived from the job id,
so even an at-least-once edge (a worker killed right after the server accepted the message) shows up as the
same message to the recipient's mail system. A follow-up's `link` is shown under its message; `template` swaps
our text for the flow's own (jobs/followup_text.py).
"""

from __future__ import annotations

import mimetypes
import smtplib
import ssl
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ivr.jobs import followup_text, rq_job_id
from ivr.jobs.context import JobContext
from ivr.jobs.delivery import Permanent, Retryable, deliver
from ivr.settings import Settings
from ivr.system import recordings
from ivr.system.plain_errors import network_error

SMTP_TIMEOUT = 10.0
MAX_ATTACHMENT = 20 * 1024 * 1024

_templates = Environment(
    loader=PackageLoader("ivr.jobs", "templates"), autoescape=select_autoescape(["html"]), undefined=StrictUndefined
)


def run(job_id: str, payload: dict) -> str:
    return deliver("email", job_id, payload, lambda ctx: send(ctx, job_id, payload))


def voicemail(settings, payload: dict) -> recordings.Recording | None:
    """The call's recording, if it is one the product made (attached) or Twilio's (linked); else nothing."""
    found = recordings.resolve(
        str(payload.get("recording_url") or ""),
        recordings.folder_in(settings.data_dir),
        str(payload.get("call_id") or ""),
    )
    if found is not None and found.path is not None and found.path.stat().st_size > MAX_ATTACHMENT:
        return recordings.Recording(reference=found.reference)  # too big to attach, and no URL to link
    return found


def text_parts(settings, payload: dict, fields: dict) -> list[tuple[str, str]]:
    """(text, MIME subtype) parts: the flow's own template (NAME.txt, NAME.html if there), else ours."""
    name = str(payload.get("template") or "")
    if not name:
        return [
            (_templates.get_template("followup_email.txt").render(fields), "plain"),
            (_templates.get_template("followup_email.html").render(fields), "html"),
        ]
    parts = [(followup_text.render_flow_template(settings.flows_dir, name, "txt", fields) or "", "plain")]
    html = followup_text.render_flow_template(settings.flows_dir, name, "html", fields, optional=True)
    return parts + ([(html, "html")] if html is not None else [])


def build_message(settings, job_id: str, payload: dict) -> MIMEMultipart:
    to = payload.get("to") or ""
    recipients = [a.strip() for a in (to if isinstance(to, list) else str(to).split(",")) if a.strip()]
    if not recipients:
        raise Permanent("no recipient address")
    found = voicemail(settings, payload)
    recording = found.path if found is not None else None
    fields = {
        **followup_text.fields(payload),
        "recording_url": (found.url or "") if found is not None else "",
        "recording_duration": float(payload.get("recording_duration") or 0),
        "attached": recording is not None,
    }
    # email.mime (compat32) rather than EmailMessage: same wire format, a fraction of the CPU per message.
    body = MIMEMultipart("alternative")
    for part, subtype in text_parts(settings, payload, fields):
        body.attach(MIMEText(part, subtype, "utf-8"))
    if recording is None:
        msg = body
    else:
        msg = MIMEMultipart("mixed")
        msg.attach(body)
        audio = MIMEApplication(recording.read_bytes(), _subtype="octet-stream")
        audio.replace_header("Content-Type", mimetypes.guess_type(recording.name)[0] or "audio/wav")
        audio.add_header("Content-Disposition", "attachment", filename=recording.name)
        msg.attach(audio)
    msg["From"] = formataddr(("", settings.smtp_from))
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = payload.get("subject") or f"Follow-up from your IVR ({fields['caller'] or 'unknown caller'})"
    msg["Message-ID"] = f"<{rq_job_id(job_id)}@ivr>"
    return msg


def smtp_configured(s: Settings) -> bool:
    """SMTP_HOST's default is localhost, which may be any program or none: only an explicit setting counts."""
    return "SMTP_HOST" in s.from_environment or s.smtp_host != "localhost"


def send(ctx: JobContext, job_id: str, payload: dict) -> str:
    s = ctx.settings
    if not smtp_configured(s):
        raise Permanent("SMTP_HOST is not set: no mail server is configured to send follow-up emails")
    msg = build_message(s, job_id, payload)
    try:
        if s.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT)
        with smtp:
            if s.smtp_security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password)
            refused = smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(code >= 500 for code in codes):
            raise Permanent(f"all recipients refused: {exc.recipients}") from None
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise Permanent(f"SMTP login refused: {exc.smtp_code} {exc.smtp_error!r}") from None
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code >= 500:
            raise Permanent(f"SMTP {exc.smtp_code} {exc.smtp_error!r}") from None
        raise
    except OSError as exc:  # connection refused, unknown host, timeout: worth retrying, said in words
        raise Retryable(
            f"the mail server at SMTP_HOST={s.smtp_host}, SMTP_PORT={s.smtp_port} cannot be "
            f"reached: {network_error(exc)}"
        ) from None
    sent_to = msg["To"]
    return f"sent to {sent_to}" + (f"; refused: {sorted(refused)}" if refused else "")
