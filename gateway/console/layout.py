"""The console's page frame and small HTML pieces: escaping, tables, the chart.

Plain functions returning strings; every value from Redis or the request passes
:func:`esc` on its way in. Styles and script come from the package's own files
(``gateway/console/static``), never from a network, and the Content-Security-Policy
(:data:`gateway.console.security.SECURITY_HEADERS`) allows nothing inline.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.console.security import CSRF_FIELD

SEEN_FIELD = "seen"

NAV = (("overview", "/", "Overview"), ("letters", "/dead-letters", "Dead letters"),
       ("opportunity", "/opportunity", "Opportunity"))  # fmt: skip


@dataclass(frozen=True)
class Chrome:
    """What every page needs to know about the visitor and the console."""

    csrf: str | None
    read_only: bool
    login_required: bool
    authenticated: bool
    flash: str = ""
    active: str = ""
    #: when the page was made: an action from it reaches no letter written after that
    seen: float = 0.0

    @property
    def actions(self) -> bool:
        """Whether action buttons are shown at all (never in read-only mode)."""
        return not self.read_only and self.csrf is not None


class Html(str):
    """Markup that is already safe (built here from escaped parts): :func:`esc` keeps it."""

    __slots__ = ()


def esc(value: object) -> str:
    if isinstance(value, Html):
        return value
    return html.escape("" if value is None else str(value), quote=True)


def csrf_input(chrome: Chrome) -> str:
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{esc(chrome.csrf)}">'


def letter_action_inputs(chrome: Chrome, seen: float) -> str:
    """What a form acting on dead letters carries: the CSRF token, and when the letters
    it acts on were ``seen``, so that a letter written after that -- a new failure, even
    under a listed id -- is not touched. Written as ``repr``: the float comes back exact,
    where a rounded one could fall just before the newest listed letter."""
    return f'{csrf_input(chrome)}<input type="hidden" name="{SEEN_FIELD}" value="{seen!r}">'


def when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, empty: str = "none") -> str:
    """``rows`` hold HTML already escaped; wrapped so a narrow screen scrolls it."""
    if not rows:
        return f'<p class="muted">{esc(empty)}</p>'
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)  # Html headers stay markup
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    inner = f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
    return f'<div class="scroll"><table>{inner}</table></div>'


def chart(series: dict[str, list[int]], *, width: int = 600, height: int = 150) -> str:
    """Completed jobs per minute as inline SVG lines, oldest minute on the left."""
    top = max([1, *(v for values in series.values() for v in values)])
    lines = []
    for name, values in series.items():
        if not values:
            continue
        step = width / max(1, len(values) - 1)
        points = " ".join(
            f"{i * step:.1f},{height - v / top * (height - 10):.1f}" for i, v in enumerate(values)
        )
        lines.append(f'<polyline class="line line-{esc(name)}" points="{points}"/>')
    legend = " ".join(
        f'<span class="key key-{esc(n)}">{esc(n)}: {sum(v[-16:])} in 15 min</span>'
        for n, v in series.items()
    )
    return (
        f'<figure class="chart"><svg viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
        f'role="img" aria-label="completed jobs per minute, last hour">'
        f'<line class="axis" x1="0" y1="{height}" x2="{width}" y2="{height}"/>'
        f"{''.join(lines)}</svg>"
        f"<figcaption><span>60 min ago</span><span>peak {top}/min</span><span>now</span>"
        f"</figcaption><p>{legend}</p></figure>"
    )


def page(title: str, body: str, chrome: Chrome) -> str:
    nav = "".join(
        f'<a href="{href}"{" class=active" if key == chrome.active else ""}>{esc(label)}</a>'
        for key, href, label in NAV
    )
    badge = '<span class="badge">read-only</span>' if chrome.read_only else ""
    logout = ""
    if chrome.login_required and chrome.authenticated:
        logout = (
            f'<form method="post" action="/logout" class="inline">{csrf_input(chrome)}'
            '<button class="link">log out</button></form>'
        )
    flash = f'<p class="flash" role="status">{esc(chrome.flash)}</p>' if chrome.flash else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} - sfgw console</title>
<link rel="stylesheet" href="/static/console.css">
<script src="/static/console.js" defer></script>
</head><body>
<header><strong class="brand">sfgw console</strong><nav>{nav}</nav>{badge}{logout}</header>
<main><h1>{esc(title)}</h1>{flash}{body}</main>
</body></html>
"""
