"""Flows: the list (published revision and draft), the YAML editor with live validation, immutable revisions
with messages, diffs, publish and rollback, import from and export to flows/*.yaml, and the flow graph."""

from __future__ import annotations

import difflib
import functools

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import login_required

from ivr.store.audit import AuditLog
from ivr.store.flows import FlowStore, RevisionNotFound

from . import flow_service as svc
from .common import actor, admin_required, audit, audited, redis_conn, settings
from .flow_page import revision_view

bp = Blueprint("flows", __name__, url_prefix="/flows")


def _store() -> FlowStore:
    return FlowStore(redis_conn())


def _check_id(flow_id: str) -> None:
    if not svc.valid_flow_id(flow_id):
        abort(404, description=f"no flow {flow_id!r}")


def _flow_change(rule: str):
    """An admin's POST that changes the flow named in the URL (whose id is checked first)."""

    def register(view):
        @functools.wraps(view)
        def checked(flow_id: str):
            _check_id(flow_id)
            return view(flow_id)

        return bp.post(rule)(login_required(admin_required(checked)))

    return register


def _text_of(flow_id: str, rev: int | None) -> tuple[str, int | None]:
    """A revision's text; by default the newest revision, else the file in flows/, else a starter flow."""
    store = _store()
    if rev is not None:
        found = store.get_revision(flow_id, rev)
        if found is None:
            abort(404, description=f"flow {flow_id!r} has no revision {rev}")
        return found.yaml_text, rev
    return svc.editable_text(store, settings(), flow_id)


def _editor(flow_id: str, text: str, base: int | None, message: str, problems: list):
    return render_template(
        "flows/edit.html",
        flow_id=flow_id,
        text=text,
        base=base,
        message=message,
        problems=svc.problem_dicts(problems),
    )


@bp.get("/")
@login_required
def index():
    return render_template("flows/index.html", flows=svc.summaries(_store(), settings()))


@bp.post("/new")
@login_required
@admin_required
def new():
    flow_id = request.form.get("flow_id", "").strip()
    if not svc.valid_flow_id(flow_id):
        flash("A flow id is lower-case letters, digits, '-' or '_' (e.g. support-line).", "error")
        return redirect(url_for("flows.index"))
    return redirect(url_for("flows.edit", flow_id=flow_id))


@bp.get("/<flow_id>")
@login_required
def show(flow_id: str):
    _check_id(flow_id)
    store = _store()
    revisions = store.list_revisions(flow_id)
    published = store.published_rev(flow_id)
    shown = request.args.get("rev", type=int) or published or (revisions[0].rev if revisions else None)
    found = store.get_revision(flow_id, shown) if shown else None
    text = found.yaml_text if found else None if shown else svc.file_text(settings(), flow_id)
    if text is None:
        abort(404, description=f"no flow {flow_id!r}" + (f" revision {shown}" if shown else ""))
    return render_template(
        "flows/show.html",
        flow_id=flow_id,
        revisions=revisions,
        published=published,
        shown=shown,
        history=store.history(flow_id)[::-1],
        **revision_view(flow_id, text, shown, request.args.get("call", "")),
        audit=AuditLog(redis_conn()).recent(20, target=f"flow:{flow_id}"),
    )


@bp.get("/<flow_id>/edit")
@login_required
def edit(flow_id: str):
    _check_id(flow_id)
    text, base = _text_of(flow_id, request.args.get("rev", type=int))
    return _editor(flow_id, text, base, "", svc.validate(settings(), flow_id, text))


@bp.post("/<flow_id>/validate")
@login_required
def validate(flow_id: str):
    _check_id(flow_id)
    body = request.get_json(silent=True, force=True)
    text = body.get("yaml") if isinstance(body, dict) else None
    if not isinstance(text, str):
        abort(400, description='send JSON {"yaml": "..."}')
    problems = svc.validate(settings(), flow_id, text)
    return jsonify(ok=not problems, problems=svc.problem_dicts(problems))


@_flow_change("/<flow_id>/save")
def save(flow_id: str):
    text, message = request.form.get("yaml", ""), request.form.get("message", "")
    try:
        rev = svc.save(_store(), settings(), flow_id, text, message, actor())
    except svc.Invalid as exc:
        flash(f"Not saved: {len(exc.problems)} problem(s). Fix them and save again.", "error")
        return _editor(flow_id, text, None, message, exc.problems), 400
    audit("save revision", f"flow:{flow_id}", f"revision {rev}: {message.strip() or '(no message)'}")
    if request.form.get("publish"):
        _store().publish(flow_id, rev, author=actor())
        audited("publish", f"flow:{flow_id}", f"Saved and published revision {rev}.", f"revision {rev}")
    else:
        flash(f"Saved revision {rev} (draft, not published).", "info")
    return redirect(url_for("flows.show", flow_id=flow_id, rev=rev))


@_flow_change("/<flow_id>/publish")
def publish(flow_id: str):
    rev = request.form.get("rev", type=int)
    try:
        _store().publish(flow_id, rev, author=actor())
    except (RevisionNotFound, TypeError):
        abort(404, description=f"flow {flow_id!r} has no revision {rev}")
    audit("publish", f"flow:{flow_id}", f"revision {rev}")
    flash(
        f"Published revision {rev}. Running processes use it within seconds; calls in progress finish on "
        f"their revision.",
        "info",
    )
    return redirect(url_for("flows.show", flow_id=flow_id))


@_flow_change("/<flow_id>/rollback")
def rollback(flow_id: str):
    try:
        rev = _store().rollback(flow_id, request.form.get("rev", type=int), author=actor())
    except RevisionNotFound as exc:
        flash(str(exc), "error")
        return redirect(url_for("flows.show", flow_id=flow_id))
    audited("rollback", f"flow:{flow_id}", f"Rolled back to revision {rev}.", f"to revision {rev}")
    return redirect(url_for("flows.show", flow_id=flow_id))


@bp.get("/<flow_id>/diff")
@login_required
def diff(flow_id: str):
    _check_id(flow_id)
    a, b = request.args.get("a", type=int), request.args.get("b", type=int)
    old, _ = _text_of(flow_id, a) if a else ("", None)
    new, _ = _text_of(flow_id, b) if b else ("", None)
    lines = list(
        difflib.unified_diff(old.splitlines(), new.splitlines(), f"revision {a}", f"revision {b}", lineterm="", n=3)
    )
    return render_template(
        "flows/diff.html", flow_id=flow_id, a=a, b=b, lines=lines, revisions=_store().list_revisions(flow_id)
    )


@bp.get("/<flow_id>/revisions/<int:rev>.yaml")
@login_required
def raw(flow_id: str, rev: int):
    _check_id(flow_id)
    text, _ = _text_of(flow_id, rev)
    return Response(
        text, mimetype="text/yaml", headers={"Content-Disposition": f'attachment; filename="{flow_id}-r{rev}.yaml"'}
    )


@bp.get("/import")
@login_required
@admin_required
def import_preview():
    return render_template("flows/import.html", files=svc.import_preview(_store(), settings()))


@bp.post("/import")
@login_required
@admin_required
def import_files():
    report = svc.import_files(_store(), settings(), actor(), publish=request.form.get("publish") == "1")
    for flow_id, outcome in report:
        audit("import", f"flow:{flow_id}", outcome)
        flash(f"{flow_id}: {outcome}", "error" if outcome.startswith("not") else "info")
    return redirect(url_for("flows.index"))


@_flow_change("/<flow_id>/export")
def export(flow_id: str):
    try:
        path = svc.export_file(_store(), settings(), flow_id, request.form.get("rev", type=int))
    except LookupError as exc:
        flash(str(exc), "error")
    else:
        audited("export", f"flow:{flow_id}", f"Wrote {path}. Commit it to keep the flow in git.", str(path))
    return redirect(url_for("flows.show", flow_id=flow_id))
