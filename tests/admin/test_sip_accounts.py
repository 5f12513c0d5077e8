"""SIP accounts in the admin and the CLI: hashed at rest (HA1 per algorithm), admins change, viewers read."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from ivr.call_session.wiring import sip_account_loader
from ivr.store import keys
from ivr.store.sip_accounts import SipAccountStore

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"


def test_an_admin_adds_an_account_and_only_its_digest_hashes_are_stored(admin, redis_conn):
    response = admin.post("/sip-accounts/", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    table = SipAccountStore(redis_conn).ha1_table()
    assert table[("alice", "ivr", "SHA-256")] == hashlib.sha256(f"alice:ivr:{PASSWORD}".encode()).hexdigest()
    assert table[("alice", "ivr", "MD5")] == hashlib.md5(f"alice:ivr:{PASSWORD}".encode()).hexdigest()
    assert PASSWORD.encode() not in redis_conn.hget(keys.SIP_ACCOUNTS, "alice")
    assert "alice" in admin.get("/sip-accounts/").text
    admin.post("/sip-accounts/alice/delete")
    assert SipAccountStore(redis_conn).list() == []


def test_an_admin_gives_an_account_its_own_srtp_policy_which_ivr_sip_loads(admin, redis_conn):
    admin.post("/sip-accounts/", data={"username": "alice", "password": PASSWORD, "srtp": "required"})
    admin.post("/sip-accounts/", data={"username": "bob", "password": PASSWORD})
    assert [(a.username, a.srtp) for a in SipAccountStore(redis_conn).list()] == [("alice", "required"), ("bob", "")]
    ha1s, srtp = sip_account_loader(redis_conn)()  # what `ivr sip` refreshes its AccountBook with
    assert ("bob", "ivr", "MD5") in ha1s and srtp == {"alice": "required"}
    assert "as its source" in admin.get("/sip-accounts/").text


def test_bad_names_short_passwords_and_unknown_policies_are_refused_with_a_reason(admin, redis_conn):
    for name, password, srtp in (("+15551234567", PASSWORD, ""), ("bob", "short", ""), ("bob", PASSWORD, "maybe")):
        response = admin.post("/sip-accounts/", data={"username": name, "password": password, "srtp": srtp})
        assert response.status_code == 400
    assert SipAccountStore(redis_conn).list() == []


def test_a_viewer_sees_accounts_but_cannot_change_them(viewer, redis_conn):
    SipAccountStore(redis_conn).save("alice", PASSWORD, "ivr")
    assert "alice" in viewer.get("/sip-accounts/").text
    assert viewer.post("/sip-accounts/", data={"username": "eve", "password": PASSWORD}).status_code == 403
    assert viewer.post("/sip-accounts/alice/delete").status_code == 403
    assert [a.username for a in SipAccountStore(redis_conn).list()] == ["alice"]


def test_the_cli_adds_lists_and_removes_accounts(redis_server, redis_conn):
    env = {**os.environ, "REDIS_URL": redis_server.url, "IVR_SIP_REALM": "office"}

    def ivr(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "ivr", "sip-account", *args],
            cwd=REPO,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    done = ivr("add", "deskphone", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert done.returncode == 0, done.stderr
    assert ("deskphone", "office", "SHA-256") in SipAccountStore(redis_conn).ha1_table()
    assert ivr("list").stdout == "deskphone\toffice\t-\n"
    assert ivr("srtp", "deskphone", "required").returncode == 0
    assert ivr("list").stdout == "deskphone\toffice\trequired\n"
    assert ivr("srtp", "nobody", "off").returncode == 1
    assert ivr("add", "12345", "--password", PASSWORD).returncode == 2  # a number is never an account name
    assert ivr("remove", "deskphone").returncode == 0
    assert ivr("remove", "deskphone").returncode == 1
