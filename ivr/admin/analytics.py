"""Analytics: calls per day by channel, outcomes, each menu's choices (funnel), no-input and no-match rates per
step, busiest hours and the callback success rate, as SVG charts and as CSV, for a range of days.

Everything is read from the per-day counters of ivr.store.analytics (one pipelined round trip for the whole range),
never by scanning calls, so it stays fast with any number of call records.
"""

from __future__ import annotations

import csv
import io
import time
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

from flask import Blueprint, Response, abort, render_template, request
from flask_login import login_required

from ivr.store import analytics as counters

from . import charts
from .common import flow_repository, redis_conn, settings
from .outcome_kinds import outcome_kinds

bp = Blueprint("analytics", __name__, url_prefix="/analytics")

REPORTS = ("calls_per_day", "outcomes", "menus", "step_rates", "hours", "callbacks")
DEFAULT_DAYS = 30


def date_range(args) -> tuple[date, date]:
    today = datetime.now(timezone.utc).date()

    def parse(name, default):
        try:
            return date.fromisoformat(args.get(name, ""))
        except ValueError:
            return default

    last = parse("to", today)
    first = parse("from", last - timedelta(days=DEFAULT_DAYS - 1))
    if first > last:
        first, last = last, first
    return max(first, last - timedelta(days=365)), last


def build_report(conn, first: date, last: date, kinds: dict[str, str] | None = None) -> dict:
    """All six reports as plain data (the CSV, the API and the charts all come from here). `kinds`: outcome ->
    success / neutral / failure, from the flows (outcome_kinds); an outcome no flow names has kind ""."""
    counters.settle_callbacks(conn, time.time())
    days = counters.day_range(first, last)
    per_day, steps = counters.read_days(conn, days)
    sums: dict[str, int] = defaultdict(int)
    for values in per_day.values():
        for name, count in values.items():
            sums[name] += count
    channels = sorted(n.split(":", 1)[1] for n in sums if n.startswith("channel:"))
    calls_per_day = [
        {"day": d, "total": per_day[d].get("total", 0), **{c: per_day[d].get(f"channel:{c}", 0) for c in channels}}
        for d in days
    ]
    menus, rates = _step_reports(steps)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "total_calls": sums.get("total", 0),
        "channels": channels,
        "calls_per_day": calls_per_day,
        "outcomes": _outcomes(sums, kinds or {}),
        "menus": menus,
        "step_rates": rates,
        "hours": [{"hour": h, "calls": sums.get(f"hour:{h}", 0)} for h in range(24)],
        "callbacks": [_callbacks(sums)],
    }


def _outcomes(sums: dict[str, int], kinds: dict[str, str]) -> list[dict]:
    """Each outcome's calls and kind, the most frequent first."""
    rows = []
    for name, calls in sums.items():
        if name.startswith("outcome:"):
            outcome = name.split(":", 1)[1]
            rows.append({"outcome": outcome, "calls": calls, "kind": kinds.get(outcome, "")})
    return sorted(rows, key=lambda r: -r["calls"])


def _step_reports(steps: dict[str, int]) -> tuple[list[dict], list[dict]]:
    """(menus, step rates): each menu's choices, and the no-input / no-match rates of every step that asked."""
    by_step: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for name, count in steps.items():
        flow, step, metric = name.split("|", 2)
        by_step[(flow, step)][metric] += count
    menus, rates = [], []
    for (flow, step), metrics in sorted(by_step.items()):
        asked = metrics.get("asked", 0)
        choices = {m.split(":", 1)[1]: v for m, v in metrics.items() if m.startswith("choice:")}
        if choices:
            menus.append(
                {
                    "flow": flow,
                    "step": step,
                    "asked": asked,
                    "visits": metrics.get("visits", 0),
                    "choices": dict(sorted(choices.items(), key=lambda kv: -kv[1])),
                    "exhausted": metrics.get("exhausted", 0),
                }
            )
        if asked:
            counts = {m: metrics.get(m, 0) for m in ("no_input", "no_match", "speech", "speech_no_match")}
            rates.append(
                {
                    "flow": flow,
                    "step": step,
                    "asked": asked,
                    **counts,
                    "no_input_rate": round(counts["no_input"] / asked, 4),
                    "no_match_rate": round(counts["no_match"] / asked, 4),
                }
            )
    return menus, rates


def _callbacks(sums: dict[str, int]) -> dict:
    """Callbacks requested, how each settled, and the share that completed (None before any settled)."""
    settled = {s: sums.get(f"callback:{s}", 0) for s in ("completed", "failed", "refused", "expired")}
    finished = sum(settled.values())
    return {
        "requested": sums.get("callback:requested", 0),
        **settled,
        "success_rate": round(settled["completed"] / finished, 4) if finished else None,
    }


def current_report(first: date, last: date) -> dict:
    """The report for this app's Redis, with outcome kinds from the flows calls run now."""
    conn = redis_conn()
    return build_report(conn, first, last, outcome_kinds(conn, settings(), flow_repository()))


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


@bp.get("/")
@login_required
def index():
    first, last = date_range(request.args)
    report = current_report(first, last)
    per_day = report["calls_per_day"]
    svg = {
        "calls_per_day": charts.stacked_bars(
            [r["day"] for r in per_day],
            {c: [r[c] for r in per_day] for c in report["channels"]},
            title="Calls per day by channel",
        ),
        "outcomes": charts.hbars(
            [(charts.words(r["outcome"]), r["calls"]) for r in report["outcomes"]],
            colours=[charts.outcome_colour(r["outcome"], r["kind"]) for r in report["outcomes"]],
        )
        + charts.kind_legend({r["kind"] for r in report["outcomes"]}),
        "hours": charts.stacked_bars(
            [f"{h['hour']:02d}h" for h in report["hours"]],
            {"calls": [h["calls"] for h in report["hours"]]},
            title="Busiest hours (UTC)",
        ),
        "menus": [(m, charts.hbars(list(m["choices"].items()))) for m in report["menus"]],
        "step_rates": charts.hbars(
            [(f"{r['step']} no input", r["no_input_rate"]) for r in report["step_rates"]]
            + [(f"{r['step']} no match", r["no_match_rate"]) for r in report["step_rates"]],
            fmt=_pct,
            max_value=1,
        ),
    }
    cb = report["callbacks"][0]
    svg["callbacks"] = charts.hbars([(k, cb[k]) for k in ("requested", "completed", "failed", "refused", "expired")])
    today = datetime.now(timezone.utc).date()
    presets = [(f"{n} days", (today - timedelta(days=n - 1)).isoformat(), today.isoformat()) for n in (7, 30, 90)]
    return render_template("analytics.html", report=report, svg=svg, first=first, last=last, pct=_pct, presets=presets)


def to_csv(rows: list[dict]) -> str:
    flat = []
    for row in rows:
        values = dict(row)
        if isinstance(values.get("choices"), dict):
            for choice, count in values.pop("choices").items():
                values[f"choice {choice}"] = count
        flat.append(values)
    columns = list(dict.fromkeys(k for row in flat for k in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, restval=0)
    writer.writeheader()
    writer.writerows(flat)
    return out.getvalue()


@bp.get("/<name>.csv")
@login_required
def csv_report(name: str):
    if name not in REPORTS:
        abort(404, description=f"no report {name!r}; reports: {', '.join(REPORTS)}")
    first, last = date_range(request.args)
    report = current_report(first, last)
    return Response(
        to_csv(report[name]),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}-{first}-{last}.csv"'},
    )
