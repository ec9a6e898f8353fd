"""The console's Falcon app in-process (no sockets): login, sessions, the POST checks,
read-only mode, and that a refused action changes nothing."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
import redis
from falcon import testing

from gateway.console.app import create_app
from gateway.console.sessions import SessionStore
from gateway.console.settings import ConsoleSettings
from gateway.pipeline.stores import DeadLetters
from gateway.settings import CoreSettings
from tests.console.conftest import ORG18, opportunity

TOKEN = "a-long-random-console-token-0123456789"
HOST = "127.0.0.1:8080"
ORIGIN = f"http://{HOST}"
SAME = {"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin",
        "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip


def console(core: CoreSettings, client: redis.Redis, **env: str) -> testing.TestClient:
    settings = ConsoleSettings.from_env(
        {"SFGW_REDIS_URL": core.redis_url or "", "SFGW_REDIS_PREFIX": core.redis_prefix,
         "SFGW_WORKER_METRICS_PORT": "0", **env},
        bind=env.pop("bind", HOST),
    )  # fmt: skip
    return testing.TestClient(create_app(settings, client), headers={"Host": HOST})


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def cookie_of(result: testing.Result) -> str:
    return result.cookies["sfgw_console"].value


def store_letter(store: DeadLetters, n: int, now: float | None = None) -> str:
    return store.add(stage="orders", queue="orders", actor="process_notification",
                     organization_id=ORG18, opportunity_id=opportunity(n),
                     notification_id=f"04l00000000000{n}AAA",
                     reason="ValidationFault CUSTOMER_ON_HOLD", attempts=1,
                     payload={"record_id": opportunity(n)}, now=now).id  # fmt: skip


@pytest.fixture
def letters(client: redis.Redis, core: CoreSettings) -> Iterator[DeadLetters]:
    store = DeadLetters(client, core)
    store_letter(store, 1)
    yield store


def test_with_a_token_pages_need_a_login_and_the_login_needs_the_token(
    client: redis.Redis, core: CoreSettings
) -> None:
    app = console(core, client, SFGW_CONSOLE_TOKEN=TOKEN)
    first = app.simulate_get("/")
    assert first.status_code == 303 and first.headers["location"].endswith("/login")
    assert "sfgw_console" not in first.cookies  # only the login page starts a session
    login = app.simulate_get("/login")
    cookie = cookie_of(login)
    form = f"csrf={csrf_of(login.text)}&token=wrong-token-wrong-token"
    wrong = app.simulate_post("/login", body=form, headers=SAME, cookies={"sfgw_console": cookie})
    assert wrong.status_code == 401
    form = f"csrf={csrf_of(login.text)}&token={TOKEN}"
    right = app.simulate_post("/login", body=form, headers=SAME, cookies={"sfgw_console": cookie})
    assert right.status_code == 303
    session = cookie_of(right)
    assert session != cookie  # a new session id after the login
    set_cookie = right.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
    assert app.simulate_get("/", cookies={"sfgw_console": session}).status_code == 200
    assert app.simulate_get("/", cookies={"sfgw_console": cookie}).status_code == 303
    # the session is kept server-side under a hash: Redis holds no usable cookie
    keys = [k.decode() for k in client.scan_iter(match=core.key("console", "session", "*"))]
    assert keys and not any(session in k or cookie in k for k in keys)


def test_probes_and_polls_leave_no_session_behind(client: redis.Redis, core: CoreSettings) -> None:
    sessions = core.key("console", "session", "*")
    for env in ({}, {"SFGW_CONSOLE_TOKEN": TOKEN}):
        app = console(core, client, **env)
        for path in ("/healthz", "/api/overview", "/overview/live", "/static/console.css", "/"):
            result = app.simulate_get(path)
            assert "sfgw_console" not in result.cookies or (path == "/" and not env), path
    assert len(list(client.scan_iter(match=sessions))) == 1  # the page, without a login


def test_the_overview_shows_a_contracts_own_queue(client: redis.Redis, core: CoreSettings) -> None:
    """A contract routed to a queue of its own fills it; the overview shows it, as
    ``sfgw status`` does, so the oldest waiting message there is not missed."""
    app = console(core, client, SFGW_ROUTE_OPPORTUNITY_ID_ONLY="id_only")
    stages = [row["stage"] for row in app.simulate_get("/api/overview").json["stages"]]
    assert stages == ["orders", "callbacks", "id_only"]
    assert "id_only" in app.simulate_get("/").text


def test_an_action_never_reaches_a_letter_written_after_the_page_was_seen(
    client: redis.Redis, core: CoreSettings, letters: DeadLetters
) -> None:
    app = console(core, client)
    page = app.simulate_get("/dead-letters")
    cookies = {"sfgw_console": cookie_of(page)}
    found = re.search(r'name="seen" value="([^"]+)"', page.text)
    assert found, "the action form says when its letters were seen"
    later = time.time() + 1
    store_letter(letters, 2, now=later)  # a failure after the operator looked
    confirm = app.simulate_get("/dead-letters/purge", cookies=cookies,
                               params={"scope": "matching", "seen": found.group(1)})  # fmt: skip
    assert "Delete <strong>1</strong>" in confirm.text
    body = f"csrf={csrf_of(page.text)}&scope=matching&confirm=yes&seen={found.group(1)}"
    purged = app.simulate_post("/dead-letters/purge", body=body, headers=SAME, cookies=cookies)
    assert purged.status_code == 303
    assert [d.opportunity_id for d in letters.iter()] == [opportunity(2)]
    # the same job failing again is a newer letter under a listed id: a replay leaves it
    first = store_letter(letters, 1, now=later)
    body = f"csrf={csrf_of(page.text)}&scope=selected&ids={first}&seen={found.group(1)}"
    app.simulate_post("/dead-letters/replay", body=body, headers=SAME, cookies=cookies)
    assert letters.count() == 2


def test_a_listed_letter_is_in_reach_though_its_workers_clock_runs_ahead(
    client: redis.Redis, core: CoreSettings, letters: DeadLetters
) -> None:
    store_letter(letters, 2, now=time.time() + 120)  # written on a host whose clock is ahead
    app = console(core, client)
    page = app.simulate_get("/dead-letters")
    cookies = {"sfgw_console": cookie_of(page)}
    found = re.search(r'name="seen" value="([^"]+)"', page.text)
    assert found
    body = f"csrf={csrf_of(page.text)}&scope=matching&confirm=yes&seen={found.group(1)}"
    app.simulate_post("/dead-letters/purge", body=body, headers=SAME, cookies=cookies)
    assert letters.count() == 0


def test_a_refused_replay_replays_nothing(
    client: redis.Redis, core: CoreSettings, letters: DeadLetters
) -> None:
    app = console(core, client)
    page = app.simulate_get("/dead-letters")
    cookies = {"sfgw_console": cookie_of(page)}
    csrf = csrf_of(page.text)
    body = f"csrf={csrf}&scope=matching"
    cross = {**SAME, "Origin": "http://127.0.0.1:9999", "Sec-Fetch-Site": "same-site"}
    assert app.simulate_post("/dead-letters/replay", body=body, headers=cross,
                             cookies=cookies).status_code == 403  # fmt: skip
    assert app.simulate_post("/dead-letters/replay", body="scope=matching", headers=SAME,
                             cookies=cookies).status_code == 403  # fmt: skip
    no_origin = {"Content-Type": "application/x-www-form-urlencoded"}
    assert app.simulate_post("/dead-letters/replay", body=body, headers=no_origin,
                             cookies=cookies).status_code == 403  # fmt: skip
    assert app.simulate_post("/dead-letters/replay", body=body, headers=SAME).status_code == 403
    assert letters.count() == 1
    # a GET never changes anything, not even the purge route
    assert app.simulate_get("/dead-letters/purge", params={"scope": "matching"},
                            cookies=cookies).status_code == 200  # fmt: skip
    assert letters.count() == 1


def test_read_only_shows_no_action_and_refuses_every_post(
    client: redis.Redis, core: CoreSettings, letters: DeadLetters
) -> None:
    app = console(core, client, SFGW_CONSOLE_READ_ONLY="true")
    (letter,) = list(letters.iter())
    for path in ("/", "/dead-letters", f"/dead-letters/{letter.id}",
                 f"/opportunity?id={opportunity(1)}"):  # fmt: skip
        page = app.simulate_get(path)
        assert page.status_code == 200, path
        assert 'method="post"' not in page.text and "Replay" not in page.text, path
        assert "read-only" in page.text
    page = app.simulate_get("/dead-letters")
    cookies = {"sfgw_console": cookie_of(page)}
    # a read-only page renders no form, so the CSRF token is taken from the session
    session = SessionStore(client, core, 60).get(cookie_of(page))
    assert session is not None
    csrf = session.csrf
    for path, body in (
        ("/dead-letters/replay", f"csrf={csrf}&scope=matching"),
        ("/dead-letters/replay", f"csrf={csrf}&scope=selected&ids={letter.id}"),
        ("/dead-letters/purge", f"csrf={csrf}&scope=matching&confirm=yes"),
    ):
        refused = app.simulate_post(path, body=body, headers=SAME, cookies=cookies)
        assert refused.status_code == 403 and "read-only" in refused.text
    assert app.simulate_get("/dead-letters/purge", params={"scope": "matching"},
                            cookies=cookies).status_code == 403  # fmt: skip
    assert letters.count() == 1


def test_replay_and_purge_say_how_many_they_affected(
    client: redis.Redis, core: CoreSettings, letters: DeadLetters
) -> None:
    for n in (2, 3):
        letters.add(stage="callbacks", queue="callbacks", actor="send_callback",
                    organization_id=ORG18, opportunity_id=opportunity(n), notification_id="",
                    reason="Salesforce ENTITY_IS_DELETED", attempts=1, payload={})  # fmt: skip
    app = console(core, client)
    page = app.simulate_get("/dead-letters", params={"stage": "callbacks"})
    assert "2 of 3 dead letters match" in page.text
    cookies = {"sfgw_console": cookie_of(page)}
    form = f"csrf={csrf_of(page.text)}&scope=matching&stage=callbacks&confirm=yes"
    done = app.simulate_post("/dead-letters/purge", body=form, headers=SAME, cookies=cookies)
    assert done.status_code == 303 and "stage=callbacks" in done.headers["location"]
    after = app.simulate_get("/dead-letters", cookies=cookies)
    assert "Purged 2 dead letters." in after.text
    assert [d.stage for d in letters.iter()] == ["orders"]


def test_dns_rebinding_is_refused(client: redis.Redis, core: CoreSettings) -> None:
    app = console(core, client)
    assert app.simulate_get("/", headers={"Host": "attacker.example:8080"}).status_code == 421
