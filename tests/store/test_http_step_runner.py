"""The http step's request runner against a real HTTP server on loopback: answers, failures, limits, the allowlist."""

from __future__ import annotations

import json
import time

import pytest

from ivr.call_session.http_pinning import pinned_session
from ivr.call_session.http_policy import UrlPolicy
from ivr.call_session.http_request import HttpRunner
from ivr.engine.actions import HttpRequest
from ivr.system.signing import SIGNATURE_HEADER, verify
from tests.fakes.web_service import CUSTOMER, WebService

SECRET = "s3cret"


@pytest.fixture
def service():
    with WebService() as running:
        yield running


def runner_for(service: WebService, **kwargs) -> HttpRunner:
    return HttpRunner([service.url + "/"], SECRET, **kwargs)


def request(url: str, **kwargs) -> HttpRequest:
    return HttpRequest(step="lookup", url=url, **kwargs)


def test_a_json_answer_is_parsed_and_the_request_is_signed_with_the_webhook_signature(service):
    body = json.dumps({"number": "+15550001111"})
    action = request(
        service.url + "/customer",
        method="POST",
        body=body,
        headers={"X-Line": "+1", "X-IVR-Signature": "forged", "Host": "evil"},
        idempotency_key="c1:lookup:1",
    )
    result = runner_for(service).perform(action)
    assert result.ok and result.status == 200 and result.data == CUSTOMER and result.reason == ""
    (got,) = service.requests
    assert got["method"] == "POST" and got["body"] == body.encode()
    assert got["headers"]["X-Line"] == "+1" and got["headers"]["Idempotency-Key"] == "c1:lookup:1"
    assert got["headers"]["Host"].startswith("127.0.0.1:")  # a flow cannot set hop headers
    assert verify(SECRET, got["headers"][SIGNATURE_HEADER], got["body"])  # what a receiver checks
    assert not verify("other", got["headers"][SIGNATURE_HEADER], got["body"])


def test_a_slow_answer_fails_at_the_timeout_over_all_tries(service):
    started = time.monotonic()
    result = runner_for(service).perform(request(service.url + "/slow?s=5", timeout=1.0, retries=2))
    took = time.monotonic() - started
    assert not result.ok and "timeout" in result.reason and result.status == 0
    assert took < 1.6, took  # the retries share the one second
    assert result.elapsed == pytest.approx(took, abs=0.2)


def test_5xx_is_tried_again_while_other_failures_are_final(service):
    service.failures_left = 1
    flaky = runner_for(service).perform(request(service.url + "/flaky", retries=1))
    assert flaky.ok and flaky.data == CUSTOMER and len(service.requests) == 2
    down = runner_for(service).perform(request(service.url + "/fail?status=503", retries=0))
    assert not down.ok and down.reason == "HTTP 503" and down.status == 503 and down.data == {"error": "down"}
    service.requests.clear()
    missing = runner_for(service).perform(request(service.url + "/fail?status=404", retries=2))
    assert missing.reason == "HTTP 404" and len(service.requests) == 1


def test_malformed_json_and_plain_text(service):
    malformed = runner_for(service).perform(request(service.url + "/malformed"))
    assert not malformed.ok and malformed.reason == "malformed JSON in the answer" and malformed.status == 0
    text = runner_for(service).perform(request(service.url + "/text"))
    assert text.ok and text.body == "plain words" and text.data is None


def test_a_10_mb_answer_is_cut_off_at_the_size_limit(service):
    started = time.monotonic()
    result = runner_for(service).perform(request(service.url + "/big", timeout=5.0))
    assert not result.ok and "over 262144 bytes" in result.reason
    assert time.monotonic() - started < 2.0  # it stopped reading, it did not take the 10 MB


def test_a_redirect_is_followed_inside_the_allowlist_and_refused_outside(service):
    with WebService() as outside:
        inside = runner_for(service).perform(request(f"{service.url}/redirect?to=/customer"))
        assert inside.ok and inside.data == CUSTOMER
        refused = runner_for(service).perform(request(f"{service.url}/redirect?to={outside.url}/customer"))
        assert not refused.ok and refused.reason.startswith("refused: ") and "IVR_HTTP_ALLOWLIST" in refused.reason
        assert outside.requests == []  # never asked


def test_without_an_allowlist_private_and_loopback_addresses_are_refused(service):
    runner = HttpRunner()  # the default: public addresses only
    for url in (
        service.url + "/customer",
        f"http://localhost:{service.url.rsplit(':', 1)[1]}/customer",
        "http://[::1]:9/x",
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest/meta-data",
    ):
        result = runner.perform(request(url))
        assert not result.ok and "private, loopback or reserved" in result.reason, (url, result.reason)
    assert service.requests == []


def test_the_policy_checks_every_address_and_prefix_boundaries():
    public = UrlPolicy(resolver=lambda host, port: ["93.184.216.34"])
    assert public.refusal("https://api.example.com/x") == ""
    mixed = UrlPolicy(resolver=lambda host, port: ["93.184.216.34", "127.0.0.1"])
    assert "127.0.0.1" in mixed.refusal("https://api.example.com/x")
    listed = UrlPolicy(["https://api.example.com"], resolver=lambda host, port: ["10.1.2.3"])
    assert listed.refusal("https://api.example.com/v1?q=1") == ""  # the prefix names the host
    assert "not under" in listed.refusal("https://api.example.com.evil.net/")
    assert "not an http(s) URL" in listed.refusal("file:///etc/passwd")
    assert "credentials" in listed.refusal("https://user:pw@api.example.com/")
    scheme_only = UrlPolicy(["https://"], resolver=lambda host, port: ["192.168.1.1"])
    assert "private" in scheme_only.refusal("https://router.example.com/")  # no host named: addresses checked


def test_the_request_connects_to_the_checked_address_whatever_the_name_resolves_to(service):
    """DNS rebinding: the policy's answer is where the socket goes; the Host header keeps the URL's name."""
    port = service.url.rsplit(":", 1)[1]
    with pinned_session("127.0.0.1") as session:
        answer = session.get(f"http://rebinding.invalid:{port}/customer", timeout=5)  # .invalid never resolves
    assert answer.json() == CUSTOMER and service.requests[0]["headers"]["Host"] == f"rebinding.invalid:{port}"
    policy = UrlPolicy(resolver=lambda host, port: ["93.184.216.34", "93.184.216.35"])
    assert policy.check("https://api.example.com/x") == ("", "93.184.216.34")
    assert UrlPolicy([service.url + "/"]).check(service.url + "/customer") == ("", None)  # named: resolved as usual
