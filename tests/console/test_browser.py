"""The console in a real browser (headless Chromium) against a real stack: gateway,
workers, embedded Redis, mock ERP and mock org as processes, and ``sfgw console``.

1. The ERP refuses one of four won Opportunities; the operator finds its dead letter by
   searching its (15-character) id, fixes the ERP, clicks Replay and watches the
   Opportunity page show the order number.
2. A form on another origin (same host, other port: the same *site*, so the
   SameSite=Strict cookie goes along) and a form of the console itself without its
   CSRF token both get 403, and nothing is replayed.

Screenshots at 1280 and 390 px wide go to the test's directory (and to
``SFGW_SCREENSHOTS_DIR``, how docs/img is refreshed).
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.console import RunningConsole, console_env, start_console
from devstack.stack import Stack, StackConfig, start_stack
from gateway.trail import Replayed
from tests.console.browser import chromium, screenshots, unavailable

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(unavailable() is not None, reason=unavailable() or ""),
]

FAST = {"SFGW_RETRY_MIN_BACKOFF_MS": "100", "SFGW_RETRY_MAX_BACKOFF_MS": "2000"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("console-stack")
    config = StackConfig(
        workdir=workdir, callback_api="collections", time_scale=1000.0, gateway_workers=1,
        worker_processes=1, worker_threads=4, erp_workers=1, salesforce_workers=1,
        worker_env={**FAST, "SFGW_CALLBACK_MAX_WAIT_MS": "200"}, startup_timeout=120,
    )  # fmt: skip
    with start_stack(config) as running:
        yield running


@pytest.fixture(scope="module")
def console(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningConsole]:
    running = start_console(tmp_path_factory.mktemp("console"), env=console_env(stack))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


def refuse_one(stack: Stack) -> tuple[list[str], str]:
    """Close four Opportunities while the ERP refuses the second; wait until the other
    three carry their order numbers and the refused one is a dead letter."""
    erp = stack.need(stack.erp, "mock ERP")
    org = stack.need(stack.salesforce, "mock Salesforce")
    ids = org.create_opportunities(4)
    refused = ids[1]
    erp.set_faults({"reject": {"references": [refused], "code": "CUSTOMER_ON_HOLD"}})
    assert sorted(org.close_won(4)) == sorted(ids)
    stack.wait_settled([i for i in ids if i != refused], timeout=60)
    stack.wait_for(
        "the refused Opportunity's dead letter",
        lambda: any(d.opportunity_id == refused for d in stack.dead_letters()),
        timeout=60,
    )
    return ids, refused


def test_find_the_refused_opportunity_fix_the_erp_replay_and_see_its_order(
    stack: Stack, console: RunningConsole, browser: Any, tmp_path: Path
) -> None:
    ids, refused = refuse_one(stack)
    page = browser.new_page()
    page.goto(f"{console.url}/")
    page.wait_for_selector("text=Stages")
    screenshots(page, "console-overview", tmp_path)

    # find the dead letter by searching the Opportunity's 15-character id
    page.goto(f"{console.url}/dead-letters")
    page.fill('input[name="q"]', refused[:15])
    page.click("text=Filter")
    page.wait_for_selector("#matching")
    assert page.inner_text("#matching").startswith("1 of 1 dead letters match")
    assert "CUSTOMER_ON_HOLD" in page.inner_text("table")
    screenshots(page, "console-dead-letters", tmp_path)

    # fix the ERP, then replay that letter
    stack.need(stack.erp, "mock ERP").set_faults({})
    page.check('input[name="ids"]')
    with page.expect_navigation() as replayed:
        page.click("text=Replay selected")
    assert replayed.value.status == 200, page.inner_text("main")
    assert "Replayed 1 dead letter." in page.inner_text(".flash")

    # the Opportunity page shows the order number once the pipeline has it
    page.goto(f"{console.url}/opportunity?id={refused}")
    number = page.wait_for_selector("#order-number", timeout=30_000).inner_text()
    page.wait_for_selector("text=written to Salesforce", timeout=30_000)
    assert stack.order_numbers([refused]) == {refused: number}
    timeline = page.inner_text(".timeline")
    assert "CUSTOMER_ON_HOLD" in timeline and "replayed into orders" in timeline
    assert f"ERP order {number} created" in timeline
    screenshots(page, "console-opportunity", tmp_path)
    orders = stack.erp_orders()
    assert all(i in orders for i in ids) and not stack.dead_letters()


class EvilSite(http.server.BaseHTTPRequestHandler):
    """Another origin on the same host: a page whose form posts to the console."""

    target = ""

    def do_GET(self) -> None:
        body = (
            f'<form method="post" action="{self.target}/dead-letters/replay">'
            '<input type="hidden" name="scope" value="matching">'
            '<button id="go">win a prize</button></form>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_cross_site_form_and_a_form_without_the_csrf_token_replay_nothing(
    stack: Stack, console: RunningConsole, browser: Any
) -> None:
    _, refused = refuse_one(stack)
    (letter,) = [d for d in stack.dead_letters() if d.opportunity_id == refused]
    page = browser.new_page()
    page.goto(f"{console.url}/dead-letters")  # the browser now holds a session cookie

    EvilSite.target = console.url
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EvilSite)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{evil.server_address[1]}/")
        with page.expect_navigation() as cross:
            page.click("#go")
        assert cross.value.status == 403
        assert "cross-origin" in page.inner_text("main")
    finally:
        evil.shutdown()

    # the console's own form, its CSRF token taken out
    page.goto(f"{console.url}/dead-letters/{letter.id}")
    page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
    with page.expect_navigation() as missing:
        page.click("text=Replay")
    assert missing.value.status == 403
    assert "CSRF" in page.inner_text("main")

    # nothing was replayed: the letter is there, no order, no replay on its trail
    assert [d.id for d in stack.dead_letters()] == [letter.id]
    assert refused not in stack.erp_orders()
    trail = stack.sfgw("trail", refused, "--json")
    assert trail.returncode == 0 and '"kind": "dead_letter"' in trail.stdout
    assert f'"kind": "{Replayed.KIND}"' not in trail.stdout
    stack.need(stack.erp, "mock ERP").set_faults({})
