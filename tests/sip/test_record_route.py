"""Behind a proxy (deploy/kamailio): the responses that make the dialog carry the INVITE's Record-Route.

RFC 3261 12.1.1: the UAS copies every Record-Route of the INVITE into its 1xx/2xx, in order, so the caller
learns the route set and sends its ACK, BYE, INFO and re-INVITE through the proxy to this node. aiosipua
0.7.1 leaves them out (defect 8 in docs/sip.md); our transport puts them back.
"""

from __future__ import annotations

from .apps import Recorded, hold_app, menu_app
from .conftest import header

PROXIES = ["<sip:10.0.0.1;lr;ftag=abc>", "<sip:10.0.0.2;lr>"]


def test_ringing_and_ok_carry_the_record_route_in_order(start_server, uac_factory):
    running = start_server(hold_app(Recorded(), seconds=3), answer_delay=0.3)
    uac = uac_factory(running.port)
    uac.request("INVITE", body=uac.sdp(), extra="\r\n".join(f"Record-Route: {p}" for p in PROXIES))
    ringing = uac.recv(5, want=lambda m: m["status"] == 180)
    ok = uac.recv(5, want=lambda m: m["status"] == 200)
    assert ringing is not None and ok is not None
    for response in (ringing, ok):
        routes = [r.strip() for value in response["headers"].get("record-route", []) for r in value.split(",")]
        assert routes == PROXIES, response["headers"]


def test_no_record_route_without_a_proxy(start_server, uac_factory):
    running = start_server(hold_app(Recorded(), seconds=3))
    uac = uac_factory(running.port)
    ok = uac.call()
    assert "record-route" not in ok["headers"] and header(ok, "contact")


def test_our_bye_follows_the_route_set_in_record_route_order(start_server, uac_factory):
    """RFC 3261 12.1.1: the UAS route set is the Record-Route list taken in order (aiosipua reverses it)."""
    running = start_server(menu_app(Recorded(), timeout=0.5))
    uac = uac_factory(running.port)
    uac.request("INVITE", body=uac.sdp(), extra="\r\n".join(f"Record-Route: {p}" for p in PROXIES))
    ok = uac.recv(5, want=lambda m: m["status"] == 200)
    uac.to_tag = header(ok, "to").split("tag=")[1]
    uac.request("ACK", to_tag=uac.to_tag, cseq=uac.cseq)
    bye = uac.recv(15, want=lambda m: m["method"] == "BYE")
    assert bye is not None
    routes = [r.strip() for value in bye["headers"].get("route", []) for r in value.split(",")]
    assert routes == PROXIES
    uac.answer_200(bye)
