"""Small server-side SVG charts (no JavaScript, no CDN): stacked vertical bars and labelled horizontal bars."""

from __future__ import annotations

from markupsafe import Markup, escape

PALETTE = ("#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#64748b")


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


FAILED_OUTCOMES = {"abandoned", "error", "failed"}  # the engine's own endings that are a failure


def words(name: str) -> str:
    """'support_links_sent' -> 'Support links sent' (outcome and step names read as words)."""
    text = name.replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


KIND_COLOURS = {"success": "#16a34a", "neutral": "#94a3b8", "failure": "#dc2626"}  # a flow's `outcomes` kinds


def outcome_colour(name: str, kind: str = "") -> str:
    """The colour of the kind the flow gives the outcome; without one, red for the engine's failures, else a
    colour fixed by the name (the same outcome looks the same everywhere)."""
    if kind in KIND_COLOURS:
        return KIND_COLOURS[kind]
    if name in FAILED_OUTCOMES:
        return "#dc2626"
    calm = ("#2563eb", "#16a34a", "#0891b2", "#7c3aed", "#64748b", "#db2777")
    return calm[sum(map(ord, name)) % len(calm)]


def kind_legend(kinds: set[str]) -> Markup:
    """A legend for the outcome kinds shown (success, neutral, failure, in that order)."""
    items = "".join(
        f'<span class="legend-item kind-{kind}"><i style="background:{colour}"></i>{kind}</span>'
        for kind, colour in KIND_COLOURS.items()
        if kind in kinds
    )
    return Markup(f'<div class="legend">{items}</div>' if items else "")


def stacked_bars(labels: list[str], series: dict[str, list[int]], height: int = 220, title: str = "") -> Markup:
    """One bar per label, stacked by series (e.g. calls per day by channel), with a legend."""
    width = max(360, 40 + len(labels) * 22)
    top, bottom, left = 12, 40, 40
    plot_h = height - top - bottom
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    peak = max(totals + [1])
    step = (width - left - 10) / max(len(labels), 1)
    parts = [_axis(left, top, plot_h, width, peak)]
    for i, label in enumerate(labels):
        x, y = left + i * step + step * 0.15, top + plot_h
        for s, (name, values) in enumerate(series.items()):
            h = values[i] / peak * plot_h
            if h > 0:
                y -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
                    f'fill="{colour(s)}"><title>{escape(label)} {escape(name)}: {values[i]}</title></rect>'
                )
        if len(labels) <= 16 or i % max(len(labels) // 12, 1) == 0:
            parts.append(
                f'<text class="tick" x="{x + step * 0.35:.1f}" y="{top + plot_h + 14}" '
                f'text-anchor="middle">{escape(label[-5:])}</text>'
            )
    legend = "".join(
        f'<span class="legend-item"><i style="background:{colour(s)}"></i>{escape(n)}</span>'
        for s, n in enumerate(series)
    )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg><div class="legend">{legend}</div>'
    )


def hbars(
    items: list[tuple[str, float]],
    fmt=lambda v: f"{v:g}",
    max_value: float | None = None,
    label_width: int = 230,
    colours: list[str] | None = None,
) -> Markup:
    """Labelled horizontal bars, largest scale first (outcomes, a menu's choices, rates)."""
    if not items:
        return Markup('<p class="muted">No data in this period.</p>')
    row, width = 24, 640
    peak = max_value or max(v for _, v in items) or 1
    parts = []
    for i, (label, value) in enumerate(items):
        y = i * row
        w = max(value / peak * (width - label_width - 70), 0)
        fill = colours[i] if colours else colour(i)
        parts.append(
            f'<text class="bar-label" x="{label_width - 8}" y="{y + 16}" text-anchor="end">'
            f'{escape(label)}</text><rect x="{label_width}" y="{y + 4}" width="{w:.1f}" height="16" rx="3" '
            f'fill="{fill}"/><text class="bar-value" x="{label_width + w + 6:.1f}" y="{y + 16}">'
            f"{escape(fmt(value))}</text>"
        )
    height = len(items) * row + 6
    return Markup(
        f'<svg class="chart hbars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


def _axis(left: int, top: int, plot_h: int, width: int, peak: int) -> str:
    """Grid lines at whole numbers only, each where its value is (an empty chart: 0 and 1, not 0, 0, 1)."""
    lines = []
    for value in sorted({0, peak // 2, peak}):
        y = top + plot_h - value / peak * plot_h
        lines.append(
            f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value}</text>'
        )
    return "".join(lines)
