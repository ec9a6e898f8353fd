# ruff: noqa: E501 - HTML templates read better with their tags unbroken
"""The console's pages, rendered from data (:mod:`gateway.console.data`) to HTML.

Pure functions: tests render them from dataclasses without Redis or a server. Action
forms (replay, purge) are rendered only when :attr:`Chrome.actions` allows them; the
server refuses the POSTs anyway in read-only mode. The parts that refresh live are
the ``data-live`` sections, which ``console.js`` reloads from the ``/.../live`` routes.
"""

from __future__ import annotations

import json

from gateway.console.data import ApiUsage, OpportunityView, Overview
from gateway.console.layout import (
    Chrome,
    Html,
    age,
    chart,
    csrf_input,
    esc,
    letter_action_inputs,
    page,
    table,
    when,
)
from gateway.console.selection import STAGES, LetterFilter
from gateway.pipeline.stores import DeadLetter
from gateway.secrets import redact
from gateway.trail import describe

SHOWN_LETTERS = 500


# -- overview --------------------------------------------------------------------------


def overview_page(overview: Overview, chrome: Chrome) -> str:
    body = (
        f'<section data-live="/overview/live" data-every="5000">{overview_live(overview)}</section>'
    )
    return page("Overview", body, chrome)


def overview_live(ov: Overview) -> str:
    stages = table(
        ["stage", "queued", "in flight", "retrying", "dead letters", "done (15 min)"],
        [[esc(r.stage), str(r.queued), str(r.in_flight), str(r.retrying),
          f'<a href="/dead-letters?stage={esc(r.stage)}">{r.dead_letters}</a>', str(r.done_15m)]
         for r in ov.stages],
    )  # fmt: skip
    share = "" if ov.oldest_age_s is None else f" ({ov.oldest_age_s / ov.window_s:.1%} of 24 h)"
    orgs = table(
        ["org", "pending", "due now", "oldest", "batches", "in batches", "lease expired"],
        [[esc(o.org), str(o.pending), str(o.due), age(o.oldest_age_s), str(o.batches),
          str(o.batch_records), str(o.expired_leases)] for o in ov.coalesced.orgs],
        empty="no coalesced callbacks pending, no batches claimed",
    )  # fmt: skip
    tokens = table(
        ["credential", "state", "expires in"],
        [[esc(name), "cached" if ttl > 0 else "no expiry", age(ttl) if ttl > 0 else "-"]
         for name, ttl in ov.tokens],
        empty="no token cached (the workers fetch one with the first callback)",
    )  # fmt: skip
    return f"""
<div class="cards">
 <div class="card"><span class="label">oldest waiting</span>
  <span class="value" id="oldest">{age(ov.oldest_age_s)}</span><small>{esc(share)}</small></div>
 <div class="card"><span class="label">dead letters</span>
  <span class="value"><a href="/dead-letters">{ov.dead_letters}</a></span></div>
 <div class="card"><span class="label">live workers</span>
  <span class="value">{ov.workers_alive}</span></div>
 <div class="card"><span class="label">Salesforce API</span>
  <span class="value">{api_value(ov.api)}</span><small>{api_note(ov.api)}</small></div>
</div>
<h2>Stages</h2>{stages}
<h2>Throughput, last hour</h2>{chart(ov.series)}
<h2>Coalesced callbacks per org</h2>{orgs}
<h2>Salesforce token</h2>{tokens}
<h2>Last reconcile run</h2>{reconcile(ov.reconcile)}
<p class="muted">as of {when(ov.generated_at)} UTC</p>"""


def api_value(api: ApiUsage) -> str:
    if api.problem is not None:
        return "unknown"
    return f"{api.total_calls} call{'' if api.total_calls == 1 else 's'}"


def api_note(api: ApiUsage) -> str:
    if api.problem is not None:
        return esc(api.problem)
    org = f"; org: {api.used} of {api.limit} in 24 h" if api.used is not None else ""
    return esc(f"by the workers since they started{org}")


def reconcile(last: dict[str, object] | None) -> str:
    if last is None:
        return '<p class="muted">no sweep has run (SFGW_RECONCILE_INTERVAL_S, sfgw reconcile)</p>'
    finished = last.get("finished")
    found = last.get("found", 0)
    outcomes = ", ".join(
        f"{last.get(k, 0)} {k}"
        for k in ("enqueued", "already queued", "already processed", "dead letter")
    )
    stamp = when(float(finished)) if isinstance(finished, int | float) else "-"
    return f"<p>{esc(stamp)} UTC: found {esc(found)}; {esc(outcomes)}</p>"


# -- dead letters ----------------------------------------------------------------------


def _filter_form(f: LetterFilter, reasons: list[tuple[str, int]], orgs: list[str]) -> str:
    stage_options = "".join(
        f'<option value="{s}"{" selected" if s == f.stage else ""}>{s}</option>'
        for s in ("", *STAGES)
    )
    org_options = "".join(
        f'<option value="{esc(o)}"{" selected" if o == f.org else ""}>{esc(o) or "any"}</option>'
        for o in ("", *orgs)
    )
    datalist = "".join(f'<option value="{esc(r)}">{n}</option>' for r, n in reasons)
    return f"""<form method="get" action="/dead-letters" class="filters">
<label>Opportunity or notification id <input name="q" value="{esc(f.q)}" placeholder="15 or 18 characters"></label>
<label>stage <select name="stage">{stage_options}</select></label>
<label>reason <input name="reason" value="{esc(f.reason)}" list="reasons"></label>
<datalist id="reasons">{datalist}</datalist>
<label>org <select name="org">{org_options}</select></label>
<button>Filter</button> <a href="/dead-letters">clear</a></form>"""


def _scope_fields(f: LetterFilter) -> str:
    return "".join(
        f'<input type="hidden" name="{k}" value="{esc(v)}">'
        for k, v in (("stage", f.stage), ("reason", f.reason), ("org", f.org), ("q", f.q))
    )


def _latest(shown: list[DeadLetter], chrome: Chrome) -> float:
    """When the letters on a page were seen: when it was made, or the newest letter's
    time if a worker's clock runs ahead of this one (a listed letter is always within)."""
    return max([chrome.seen, *(d.when for d in shown)])


def letters_page(
    matching: list[DeadLetter], total: int, f: LetterFilter, reasons: list[tuple[str, int]],
    orgs: list[str], *, chrome: Chrome,
) -> str:  # fmt: skip
    shown = matching[:SHOWN_LETTERS]
    rows = [
        [(f'<input type="checkbox" name="ids" value="{esc(d.id)}" form="letters" '
          f'aria-label="select {esc(d.id)}">' if chrome.actions else ""),
         f'<a href="/dead-letters/{esc(d.id)}">{esc(d.id)}</a>', when(d.when), esc(d.stage),
         f'<a href="/opportunity?id={esc(d.opportunity_id)}">{esc(d.opportunity_id)}</a>',
         esc(d.notification_id), str(d.attempts), f'<span class="reason">{esc(d.reason[:160])}</span>']
        for d in shown
    ]  # fmt: skip
    more = f" (showing the oldest {len(shown)})" if len(shown) < len(matching) else ""
    summary = f'<p id="matching">{len(matching)} of {total} dead letters match{more}.</p>'
    actions = ""
    if chrome.actions and matching:
        actions = f"""<form method="post" action="/dead-letters/replay" id="letters" class="actions">
{letter_action_inputs(chrome, _latest(matching, chrome))}{_scope_fields(f)}
<button name="scope" value="selected">Replay selected</button>
<button name="scope" value="matching">Replay all {len(matching)} matching</button>
<button formmethod="get" formaction="/dead-letters/purge" name="scope" value="selected" class="danger">Purge selected…</button>
<button formmethod="get" formaction="/dead-letters/purge" name="scope" value="matching" class="danger">Purge all {len(matching)} matching…</button>
</form>"""
    select_all = Html(
        '<input type="checkbox" id="select-all" aria-label="select all">' if chrome.actions else ""
    )
    body = (
        _filter_form(f, reasons, orgs) + summary + actions
        + table([select_all, "id", "when (UTC)", "stage", "opportunity", "notification",
                 "attempts", "reason"], rows, empty="no dead letters match")
    )  # fmt: skip
    return page("Dead letters", body, chrome)


def letter_page(letter: DeadLetter, chrome: Chrome) -> str:
    payload = redact(json.dumps(letter.payload, indent=2, sort_keys=True, default=str))
    facts = table(
        ["", ""],
        [[k, esc(v)] for k, v in (
            ("stage", letter.stage), ("when (UTC)", when(letter.when)),
            ("organization", letter.organization_id), ("opportunity", letter.opportunity_id),
            ("notification", letter.notification_id), ("attempts", letter.attempts),
            ("last error", letter.reason))],
    )  # fmt: skip
    actions = ""
    if chrome.actions:
        actions = f"""<form method="post" action="/dead-letters/replay" class="actions">
{letter_action_inputs(chrome, _latest([letter], chrome))}<input type="hidden" name="ids" value="{esc(letter.id)}">
<button name="scope" value="selected">Replay</button>
<button formmethod="get" formaction="/dead-letters/purge" name="scope" value="selected" class="danger">Purge…</button></form>"""
    body = (
        f'<p><a href="/opportunity?id={esc(letter.opportunity_id)}">the Opportunity\'s trail</a>'
        f"</p>{facts}{actions}<h2>Payload (secrets redacted)</h2><pre>{esc(payload)}</pre>"
    )
    return page(f"Dead letter {letter.id}", body, chrome)


def purge_confirm_page(
    count: int, scope: str, ids: list[str], f: LetterFilter, chrome: Chrome, *, seen: float
) -> str:
    """``seen``: when the operator saw the letters (the list's time), carried on."""
    hidden = "".join(f'<input type="hidden" name="ids" value="{esc(i)}">' for i in ids)
    if count == 0:
        body = '<p>Nothing to purge: no dead letter was selected or matches.</p><a href="/dead-letters">back</a>'
    else:
        body = f"""<p>Delete <strong>{count}</strong> dead letter{"s" if count != 1 else ""} for good?
They cannot be replayed afterwards.</p>
<form method="post" action="/dead-letters/purge" class="actions">{letter_action_inputs(chrome, seen)}
{_scope_fields(f)}{hidden}<input type="hidden" name="scope" value="{esc(scope)}">
<button name="confirm" value="yes" class="danger">Delete {count}</button>
<a href="/dead-letters?{esc(f.query())}">cancel</a></form>"""
    return page("Purge dead letters", body, chrome)


# -- opportunity -----------------------------------------------------------------------


def opportunity_page(
    view: OpportunityView | None, query: str, problem: str | None, chrome: Chrome
) -> str:
    search = f"""<form method="get" action="/opportunity" class="filters">
<label>Opportunity id <input name="id" value="{esc(query)}" placeholder="006… (15 or 18 characters)" autofocus></label>
<button>Show</button></form>"""
    if problem:
        return page("Opportunity", search + f'<p class="problem">{esc(problem)}</p>', chrome)
    if view is None:
        return page("Opportunity", search, chrome)
    live = (
        f'<section data-live="/opportunity/live?id={esc(view.record)}" data-every="2000">'
        f"{opportunity_live(view, chrome)}</section>"
    )
    return page(f"Opportunity {view.record}", search + live, chrome)


def opportunity_live(view: OpportunityView, chrome: Chrome) -> str:
    number = view.order_number
    state = "written to Salesforce" if view.updated_in_salesforce else "not yet in Salesforce"
    headline = (
        f'<p class="order">order <strong id="order-number">{esc(number)}</strong> ({state})</p>'
        if number else '<p class="order" id="order-number-missing">no ERP order yet</p>'
    )  # fmt: skip
    events = "".join(
        f'<li class="event event-{esc(e.KIND)}"><time>{when(e.at / 1000)}</time>'
        f"<span>{esc(describe(e))}</span></li>"
        for e in view.events
    )
    timeline = (
        f'<ol class="timeline">{events}</ol>' if events
        else '<p class="muted">no trail (kept 7 days; the record may be older, or the trail off)</p>'
    )  # fmt: skip
    letters = ""
    if view.letters:
        rows = []
        for d in view.letters:
            button = ""
            if chrome.actions:
                button = (
                    f'<form method="post" action="/dead-letters/replay" class="inline">'
                    f"{letter_action_inputs(chrome, _latest([d], chrome))}"
                    f'<input type="hidden" name="ids" value="{esc(d.id)}">'
                    f'<input type="hidden" name="back" value="/opportunity?id={esc(view.record)}">'
                    f'<button name="scope" value="selected">Replay</button></form>'
                )
            rows.append([f'<a href="/dead-letters/{esc(d.id)}">{esc(d.id)}</a>', esc(d.stage),
                         f'<span class="reason">{esc(d.reason[:160])}</span>', button])  # fmt: skip
        letters = "<h2>Dead letters</h2>" + table(["letter", "stage", "reason", ""], rows)
    return f"{headline}{letters}<h2>Trail</h2>{timeline}"


# -- login and messages ----------------------------------------------------------------


def login_page(chrome: Chrome, problem: str | None = None) -> str:
    note = f'<p class="problem">{esc(problem)}</p>' if problem else ""
    body = f"""{note}<form method="post" action="/login" class="login">{csrf_input(chrome)}
<label>Console token <input type="password" name="token" autocomplete="current-password" autofocus required></label>
<button>Log in</button></form>"""
    return page("Log in", body, chrome)


def message_page(title: str, text: str, chrome: Chrome) -> str:
    return page(title, f'<p class="problem">{esc(text)}</p><p><a href="/">overview</a></p>', chrome)
