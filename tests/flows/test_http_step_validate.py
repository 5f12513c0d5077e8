"""The validator on http steps: templates checked at their file:line, `http.json.*` names allowed, limits kept."""

from __future__ import annotations

from ivr.flows import validate_paths

GOOD = """id: v
start: lookup
steps:
  lookup:
    type: http
    url: "https://crm.example.com/{{caller.number}}"
    body:
      who: "{{caller.number}}"
    ok: greet
    failed: bye
  greet:
    type: say
    text: "Hi {{http.json.customer.first_name}}, {{http.status}} {{http.reason}} {{http.body}}"
    next: bye
  bye: {type: hangup}
"""


def problems(tmp_path, text: str) -> list[str]:
    path = tmp_path / "v.yaml"
    path.write_text(text)
    return [str(p).replace(str(tmp_path) + "/", "") for p in validate_paths([path])]


def test_a_good_http_step_validates_with_any_answer_field(tmp_path):
    assert problems(tmp_path, GOOD) == []
    body = GOOD.replace('who: "{{caller.number}}"', 'who: "{{caller.number}}"\n      audio: "no-such.wav"')
    assert problems(tmp_path, body) == []  # the request's data is no prompt: no audio file is looked for


def test_unknown_names_in_the_url_headers_and_body_are_reported_where_they_are(tmp_path):
    text = GOOD.replace('{{caller.number}}"\n    body', '{{caler.number}}"\n    headers: {X-A: "{{acount}}"}\n    body')
    text = text.replace('who: "{{caller.number}}"', 'who: "{{nobody}}"')
    found = problems(tmp_path, text)
    assert any(
        p.startswith("v.yaml:6:") and "'{{caler.number}}'" in p and "did you mean 'caller.number'" in p for p in found
    )
    assert any(
        p.startswith("v.yaml:7:") and "steps.lookup.headers.X-A: unknown variable '{{acount}}'" in p for p in found
    )
    assert any(p.startswith("v.yaml:9:") and "steps.lookup.body.who: unknown variable '{{nobody}}'" in p for p in found)
    assert len(found) == 3


def test_an_http_name_outside_the_answer_is_still_unknown(tmp_path):
    found = problems(tmp_path, GOOD.replace("{{http.status}}", "{{http.statuss}}"))
    assert len(found) == 1 and "unknown variable '{{http.statuss}}'" in found[0] and found[0].startswith("v.yaml:13:")


def test_limits_and_exits_are_checked(tmp_path):
    text = GOOD.replace("    ok: greet\n", "    ok: greet\n    timeout: 11\n    retries: 3\n")
    found = problems(tmp_path, text)
    assert any("steps.lookup.timeout" in p for p in found) and any("steps.lookup.retries" in p for p in found)
    missing = problems(tmp_path, GOOD.replace("    failed: bye\n", "", 1))
    assert any("steps.lookup" in p and "failed" in p for p in missing)
    assert any("must match" in p or "http" in p for p in problems(tmp_path, GOOD.replace("https://crm", "ftp://crm")))
