"""The console's functional core, without sockets: the bind rule, the POST decisions,
the dead-letter filter, the pages."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError
from gateway.console.data import ApiUsage, OpportunityView, parse_api_metrics
from gateway.console.layout import Chrome
from gateway.console.pages import letter_page, letters_page, opportunity_live
from gateway.console.security import (
    Session,
    cookie_header,
    host_refusal,
    origin_of,
    post_refusal,
    tokens_equal,
)
from gateway.console.selection import LetterFilter, select
from gateway.console.settings import check_bind, is_loopback_bind
from gateway.pipeline.stores import DeadLetter
from gateway.trail import CallbackWritten, DeadLettered, OrderPlaced
from tests.console.conftest import ORG, ORG18, opportunity

TOKEN = "a-long-random-console-token-0123456789"
OWN = "http://127.0.0.1:8080"
SESSION = Session(csrf="csrf-token-value", authenticated=True)


def letter(
    n: int, stage: str = "orders", reason: str = "ValidationFault CUSTOMER_ON_HOLD"
) -> DeadLetter:
    return DeadLetter(
        id=f"ord-{n:012d}", when=1_700_000_000.0 + n, stage=stage, queue=stage,
        actor="process_notification", organization_id=ORG18, opportunity_id=opportunity(n),
        notification_id=f"04l{n:012d}AAA", reason=reason, attempts=1,
        payload={"record_id": opportunity(n),
                 "session_id": "00D5g000004SfGw!AQ4AQsecretsecretsecret"},
    )  # fmt: skip


# -- the bind rule ---------------------------------------------------------------------


@pytest.mark.parametrize("bind", ["127.0.0.1:8080", "localhost:1", "[::1]:8080", "127.9.9.9:80"])
def test_loopback_runs_without_a_login(bind: str) -> None:
    assert is_loopback_bind(bind)
    check_bind(bind, None)


@pytest.mark.parametrize("bind", ["0.0.0.0:8080", "10.1.2.3:8080", "console.example.com:443"])
def test_any_other_address_needs_the_token_and_says_so_in_one_line(bind: str) -> None:
    with pytest.raises(ConfigError) as refused:
        check_bind(bind, None)
    message = str(refused.value)
    assert "SFGW_CONSOLE_TOKEN" in message and "\n" not in message and bind in message
    check_bind(bind, TOKEN)
    with pytest.raises(ConfigError, match="SFGW_CONSOLE_TOKEN is shorter"):
        check_bind(bind, "short")


# -- POST decisions --------------------------------------------------------------------


def refusal(headers: dict[str, str], **overrides: object) -> str | None:
    arguments: dict[str, object] = {
        "own_origin": OWN, "session": SESSION, "form_csrf": SESSION.csrf, "read_only": False,
    }  # fmt: skip
    arguments.update(overrides)
    return post_refusal(headers, **arguments)  # type: ignore[arg-type]


def test_a_form_of_the_console_itself_passes() -> None:
    assert refusal({"sec-fetch-site": "same-origin", "origin": OWN}) is None
    assert refusal({"origin": "http://127.0.0.1:8080"}) is None  # no fetch metadata


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "same-site", "origin": "http://127.0.0.1:9999"},
        {"sec-fetch-site": "cross-site", "origin": "https://evil.example"},
        {"sec-fetch-site": "none"},
        {"origin": "http://127.0.0.1:9999"},
        {"origin": "null"},
        {"sec-fetch-site": "same-origin", "origin": "http://localhost:8080"},
        {},
    ],
)
def test_anything_from_elsewhere_is_refused(headers: dict[str, str]) -> None:
    assert refusal(headers) is not None


def test_the_csrf_token_the_session_and_read_only_are_checked() -> None:
    same = {"sec-fetch-site": "same-origin", "origin": OWN}
    assert "CSRF" in (refusal(same, form_csrf=None) or "")
    assert "CSRF" in (refusal(same, form_csrf="another") or "")
    assert "session" in (refusal(same, session=None) or "")
    assert "read-only" in (refusal(same, read_only=True) or "")
    assert refusal(same, read_only=True, action=False) is None  # logging in and out


def test_tokens_compare_in_constant_time_and_exactly() -> None:
    assert tokens_equal(TOKEN, TOKEN)
    assert not tokens_equal(TOKEN[:-1], TOKEN) and not tokens_equal("", TOKEN)


def test_the_cookie_is_httponly_and_strict() -> None:
    header = cookie_header("abc", max_age=60, secure=True)
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Secure" in header


def test_dns_rebinding_is_refused_on_loopback_without_a_login() -> None:
    assert host_refusal("127.0.0.1:8080", loopback_without_login=True) is None
    assert host_refusal("localhost:8080", loopback_without_login=True) is None
    assert host_refusal("attacker.example:8080", loopback_without_login=True)
    assert host_refusal("console.example.com", loopback_without_login=False) is None
    assert origin_of("http", "127.0.0.1") == "http://127.0.0.1:80"


# -- the dead-letter filter ------------------------------------------------------------


def test_the_filter_finds_by_15_or_18_character_ids_stage_reason_and_org() -> None:
    letters = [letter(1), letter(2, "callbacks", "Salesforce FIELD_CUSTOM_VALIDATION"), letter(3)]
    assert select(letters, LetterFilter(q=opportunity(2)[:15])) == [letters[1]]
    assert select(letters, LetterFilter(q=opportunity(2))) == [letters[1]]
    assert select(letters, LetterFilter(q="04l000000000003AAA")) == [letters[2]]
    assert select(letters, LetterFilter(q="ord-000000000001")) == [letters[0]]
    assert select(letters, LetterFilter(stage="orders")) == [letters[0], letters[2]]
    assert select(letters, LetterFilter(reason="customer_on")) == [letters[0], letters[2]]
    assert select(letters, LetterFilter(org=ORG, stage="callbacks")) == [letters[1]]
    assert select(letters, LetterFilter(org="00D000000000000")) == []
    assert LetterFilter.from_params({"stage": "bogus", "q": " x "}) == LetterFilter(q="x")


# -- the pages -------------------------------------------------------------------------

CHROME = Chrome(csrf="csrf-token-value", read_only=False, login_required=False, authenticated=True)
READ_ONLY = Chrome(
    csrf="csrf-token-value", read_only=True, login_required=False, authenticated=True
)


def test_read_only_pages_show_no_action() -> None:
    letters = [letter(1), letter(2)]
    for chrome, shown in ((CHROME, True), (READ_ONLY, False)):
        pages = [
            letters_page(letters, 2, LetterFilter(), [], [ORG], chrome=chrome),
            letter_page(letters[0], chrome),
            opportunity_live(OpportunityView(opportunity(1), [], letters[:1]), chrome),
        ]
        for html in pages:
            assert ('method="post"' in html) is shown
            assert ("Replay" in html) is shown


def test_a_letter_page_shows_its_payload_without_secrets() -> None:
    html = letter_page(letter(1), CHROME)
    assert "secretsecretsecret" not in html and "[redacted]" in html


def test_the_page_escapes_what_it_shows() -> None:
    html = letters_page([letter(1, reason="<script>alert(1)</script>")], 1, LetterFilter(), [],
                        [], chrome=CHROME)  # fmt: skip
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_the_opportunity_shows_its_order_number_from_the_trail() -> None:
    opp = opportunity(1)
    view = OpportunityView(opp, [
        DeadLettered(1, ORG, stage="orders", letter="ord-1", reason="CUSTOMER_ON_HOLD"),
        OrderPlaced(2, ORG, order_number="SO-000042"),
        CallbackWritten(3, ORG, mode="collections", order_number="SO-000042"),
    ], [])  # fmt: skip
    assert view.order_number == "SO-000042" and view.updated_in_salesforce
    html = opportunity_live(view, CHROME)
    assert 'id="order-number">SO-000042<' in html and "written to Salesforce" in html


def test_api_usage_comes_from_the_workers_metrics() -> None:
    text = """# HELP sfgw_salesforce_api_calls_total Calls
sfgw_salesforce_api_calls_total{api="collections",result="200"} 51.0
sfgw_salesforce_api_calls_total{api="rest",result="INVALID_SESSION_ID"} 1.0
sfgw_salesforce_api_usage 1234.0
sfgw_salesforce_api_limit 100000.0
"""
    usage = parse_api_metrics(text)
    assert usage == ApiUsage(calls={"200": 51, "INVALID_SESSION_ID": 1}, used=1234, limit=100000)
    assert usage.total_calls == 52
