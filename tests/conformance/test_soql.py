"""SOQL as Salesforce evaluates it (SOQL and SOSL Reference: fieldExpression, comparison
operators, quoted string escapes, date formats and date literals, LIMIT, OFFSET,
COUNT()), asked through simple-salesforce's ``query``, and the parser's properties.

Records are set up through the org's admin API with known names, dates and amounts;
every query is one a real org answers, with the answer a real org gives, or one a real
org refuses, with its error code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from devstack.mocks import RunningSalesforce
from gateway import sfid
from mock_salesforce import deployment, soql
from mock_salesforce.soql.dates import date_range

from .conftest import CLIENT_ID, CLIENT_SECRET, MY_DOMAIN

SCHEMA = deployment.load(deployment.DEFAULT_BUNDLE).schema


def today() -> dt.date:
    """The org's today (GMT); the date tests assume they do not straddle midnight UTC."""
    return dt.datetime.now(dt.UTC).date()


@pytest.fixture(scope="module")
def sf(org: RunningSalesforce) -> Iterator[Salesforce]:
    from .conftest import mapped_session

    with mapped_session(org) as session:
        yield Salesforce(consumer_key=CLIENT_ID, consumer_secret=CLIENT_SECRET,
                         domain=MY_DOMAIN, session=session)  # fmt: skip


@pytest.fixture(scope="module")
def deals(org: RunningSalesforce) -> dict[str, str]:
    """Name -> id of records with known names, close dates (relative to today, UTC) and
    amounts."""
    day = today()
    spec: dict[str, dict[str, Any]] = {
        "Fish AND Chips": {"CloseDate": day, "Amount": 10},
        "O'Brien Ltd": {"CloseDate": day - dt.timedelta(days=1), "Amount": 20},
        "Tomorrow Inc": {"CloseDate": day + dt.timedelta(days=1), "Amount": 30},
        "Old Deal": {"CloseDate": day - dt.timedelta(days=40), "Amount": None},
        "Ten Days Out": {"CloseDate": day + dt.timedelta(days=10), "Amount": 50},
    }
    ids = org.create_opportunities(len(spec))
    for oid, (name, values) in zip(ids, spec.items(), strict=True):
        org.update_opportunity(oid, Name=name, CloseDate=values["CloseDate"].isoformat(),
                               Amount=values["Amount"])  # fmt: skip
    return dict(zip(spec, ids, strict=True))


def names(sf: Salesforce, where: str, deals: dict[str, str]) -> set[str]:
    """The names of our deals a WHERE clause selects."""
    by_id = {oid: name for name, oid in deals.items()}
    records = sf.query_all(f"SELECT Id FROM Opportunity WHERE {where}")["records"]
    return {by_id[r["Id"]] for r in records if r["Id"] in by_id}


def refused(sf: Salesforce, text: str) -> dict[str, Any]:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query(text)
    error: dict[str, Any] = caught.value.content[0]
    return error


def test_15_and_18_character_ids_are_equal(sf: Salesforce, deals: dict[str, str]) -> None:
    fish = deals["Fish AND Chips"]
    assert names(sf, f"Id = '{fish[:15]}'", deals) == {"Fish AND Chips"}
    assert names(sf, f"Id IN ('{fish}', '{deals['Old Deal'][:15]}')", deals) == {
        "Fish AND Chips", "Old Deal",
    }  # fmt: skip
    assert "Fish AND Chips" not in names(sf, f"Id != '{fish[:15]}'", deals)


def test_text_compares_case_insensitively(sf: Salesforce, deals: dict[str, str]) -> None:
    assert names(sf, "Name = 'fish and chips'", deals) == {"Fish AND Chips"}
    assert names(sf, "Name IN ('OLD DEAL', 'ten days out')", deals) == {"Old Deal", "Ten Days Out"}
    assert names(sf, "Name LIKE 'o\\'brien%'", deals) == {"O'Brien Ltd"}
    assert names(sf, "Name LIKE '%DAY%'", deals) == {"Ten Days Out"}


def test_quoted_strings_keep_their_and_and_quotes(sf: Salesforce, deals: dict[str, str]) -> None:
    assert names(sf, "Name = 'Fish AND Chips' AND Amount = 10", deals) == {"Fish AND Chips"}
    assert names(sf, "(Name = 'O\\'Brien Ltd' OR Name = 'Old Deal') AND Amount = null",
                 deals) == {"Old Deal"}  # fmt: skip
    assert names(sf, "NOT Name LIKE '%AND%' AND Name LIKE 'F%'", deals) == set()


def test_not_equal_and_not_in_keep_null_values(sf: Salesforce, deals: dict[str, str]) -> None:
    assert "Old Deal" in names(sf, "Amount != 10", deals)
    assert "Old Deal" in names(sf, "Amount NOT IN (10, 20)", deals)
    assert "Old Deal" not in names(sf, "Amount < 100", deals)
    assert names(sf, "Amount >= 20 AND Amount <= 30", deals) == {"O'Brien Ltd", "Tomorrow Inc"}


def test_dates_are_unquoted_and_date_literals_are_ranges(
    sf: Salesforce, deals: dict[str, str]
) -> None:
    day = today()
    assert names(sf, f"CloseDate = {day.isoformat()}", deals) == {"Fish AND Chips"}
    assert names(sf, "CloseDate = TODAY", deals) == {"Fish AND Chips"}
    assert names(sf, "CloseDate = YESTERDAY", deals) == {"O'Brien Ltd"}
    assert names(sf, "CloseDate = TOMORROW", deals) == {"Tomorrow Inc"}
    assert names(sf, "CloseDate = LAST_N_DAYS:1", deals) == {"Fish AND Chips", "O'Brien Ltd"}
    assert names(sf, "CloseDate = NEXT_N_DAYS:10", deals) == {"Tomorrow Inc", "Ten Days Out"}
    assert names(sf, "CloseDate < LAST_N_DAYS:30", deals) == {"Old Deal"}
    assert names(sf, "CloseDate > NEXT_N_DAYS:1", deals) == {"Ten Days Out"}
    assert names(sf, "CloseDate = N_DAYS_AGO:40", deals) == {"Old Deal"}
    assert names(sf, "CloseDate = LAST_90_DAYS AND CloseDate < TODAY", deals) == {
        "O'Brien Ltd", "Old Deal",
    }  # fmt: skip
    created = names(sf, f"CreatedDate > {(day - dt.timedelta(days=2)).isoformat()}T00:00:00Z",
                    deals)  # fmt: skip
    assert created == set(deals)
    assert names(sf, "CreatedDate = TODAY AND CreatedDate = THIS_WEEK", deals) == set(deals)


@pytest.mark.parametrize(
    ("where", "code", "said"),
    [
        ("CloseDate = '2026-01-01'", "INVALID_FIELD", "must be of type date and should not be"),
        ("CreatedDate > '2026-01-01T00:00:00Z'", "INVALID_FIELD", "must be of type dateTime"),
        ("CreatedDate > 2026-01-01", "INVALID_FIELD", "must be of type dateTime"),
        ("CloseDate = 2026-01-01T00:00:00Z", "INVALID_FIELD", "must be of type date"),
        ("Name = Fish", "MALFORMED_QUERY", "unexpected token"),
        ("Amount = '10'", "INVALID_FIELD", "should not be enclosed in quotes"),
        ("IsWon = 'true'", "INVALID_FIELD", "must be of type boolean"),
        ("Id = 'not-an-id'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field"),
        ("Id LIKE '006%'", "INVALID_QUERY_FILTER_OPERATOR", "invalid operator on id field"),
        (
            "IsWon = true AND IsClosed = true OR Amount > 1",
            "MALFORMED_QUERY",
            "unexpected token: OR",
        ),
        ("Account.Name = 'x'", "MALFORMED_QUERY", "relationship field Account.Name"),
        ("Id IN (SELECT Id FROM Opportunity)", "MALFORMED_QUERY", "semi-join"),
        ("Name = :name", "MALFORMED_QUERY", "Bind variables only allowed in Apex code"),
        ("CloseDate = LAST_N_FORTNIGHTS:2", "MALFORMED_QUERY", "unexpected token"),
        ("Name INCLUDES ('a')", "MALFORMED_QUERY", "INCLUDES"),
    ],
)
def test_what_a_real_org_refuses_is_refused(
    sf: Salesforce, where: str, code: str, said: str
) -> None:
    error = refused(sf, f"SELECT Id FROM Opportunity WHERE {where}")
    assert error["errorCode"] == code
    assert said in error["message"]
    assert "ERROR at Row:1:Column:" in error["message"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("SELECT COUNT(Id) FROM Opportunity", "COUNT(field)"),
        ("SELECT SUM(Amount) FROM Opportunity", "SUM()"),
        ("SELECT Id, (SELECT Id FROM OpportunityLineItems) FROM Opportunity", "subquery"),
        ("SELECT Id FROM Opportunity o", "alias"),
        ("SELECT Id FROM Opportunity WITH SECURITY_ENFORCED", "WITH"),
        ("SELECT Id FROM Opportunity FOR UPDATE", "FOR"),
        ("SELECT Id, Id FROM Opportunity", "duplicate field selected: Id"),
        ("SELECT Id FROM Opportunity LIMIT", "unexpected token: <EOF>"),
    ],
)
def test_outside_the_subset_is_malformed_and_named(sf: Salesforce, text: str, said: str) -> None:
    error = refused(sf, text)
    assert error["errorCode"] == "MALFORMED_QUERY" and said in error["message"]


def test_offset_above_2000_and_an_unknown_field(sf: Salesforce) -> None:
    error = refused(sf, "SELECT Id FROM Opportunity LIMIT 1 OFFSET 2001")
    assert error["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"
    error = refused(sf, "SELECT Nope__c FROM Opportunity")
    assert error["errorCode"] == "INVALID_FIELD" and "No such column 'Nope__c'" in error["message"]
    error = refused(sf, "SELECT Id FROM Opportunities")
    assert error["errorCode"] == "INVALID_TYPE"


def test_order_by_nulls_and_directions(sf: Salesforce, deals: dict[str, str]) -> None:
    ours = ", ".join(f"'{oid}'" for oid in deals.values())
    asc = sf.query(f"SELECT Name FROM Opportunity WHERE Id IN ({ours}) ORDER BY Amount")
    assert asc["records"][0]["Name"] == "Old Deal"  # nulls first ascending
    desc = sf.query(
        f"SELECT Name FROM Opportunity WHERE Id IN ({ours}) ORDER BY Amount DESC NULLS LAST, Name"
    )
    assert [r["Name"] for r in desc["records"]] == [
        "Ten Days Out", "Tomorrow Inc", "O'Brien Ltd", "Fish AND Chips", "Old Deal",
    ]  # fmt: skip


# -- properties of the parser and evaluator (pure) ---------------------------------------


def soql_quoted(text: str) -> str:
    """A SOQL string literal for ``text`` (the escapes of the SOQL reference)."""
    escaped = (
        text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
        .replace("\r", "\\r").replace("\t", "\\t")
    )  # fmt: skip
    return f"'{escaped}'"


TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30)


@given(TEXT)
def test_any_text_round_trips_through_a_quoted_literal(text: str) -> None:
    query = soql.parse(f"SELECT Id FROM Opportunity WHERE Name = {soql_quoted(text)}", SCHEMA)
    assert query.matches({"Name": text})
    assert query.matches({"Name": text.upper()}) == (text.upper().casefold() == text.casefold())
    assert not query.matches({"Name": text + "x"})


ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="\\"),
               max_size=20)  # fmt: skip


@given(ASCII, ASCII)
def test_like_with_escaped_wildcards_finds_the_fragment(fragment: str, around: str) -> None:
    escaped = "".join("\\" + c if c in "%_'" else c for c in fragment)
    query = soql.parse(f"SELECT Id FROM Opportunity WHERE Name LIKE '%{escaped}%'", SCHEMA)
    assert query.matches({"Name": around + fragment + around})
    assert query.matches({"Name": around + fragment.swapcase() + around})  # case-insensitive
    if fragment and set(fragment) <= set("%_"):
        # escaped wildcards are themselves: "%"/"_" do not match other characters
        assert not query.matches({"Name": "x" * (len(fragment) + 2)})


IDS15 = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
                min_size=12, max_size=12).map(lambda tail: "006" + tail)  # fmt: skip


@given(IDS15, st.booleans())
def test_an_id_in_either_form_finds_the_record(id15: str, long_form: bool) -> None:
    literal = sfid.to18(id15) if long_form else id15
    query = soql.parse(f"SELECT Id FROM Opportunity WHERE Id = '{literal}'", SCHEMA)
    assert query.matches({"Id": sfid.to18(id15)})
    other = id15[:-1] + ("b" if id15[-1] != "b" else "c")
    assert not query.matches({"Id": sfid.to18(other)})


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)),
       st.integers(min_value=0, max_value=400))  # fmt: skip
def test_last_and_next_n_days_are_the_documented_ranges(day: dt.date, n: int) -> None:
    start, end = date_range("LAST_N_DAYS", n, day)
    assert (start, end) == (day - dt.timedelta(days=n), day + dt.timedelta(days=1))  # today in
    start, end = date_range("NEXT_N_DAYS", n, day)
    assert (start, end) == (day + dt.timedelta(days=1), day + dt.timedelta(days=n + 1))
    for name in ("THIS_WEEK", "THIS_MONTH", "THIS_QUARTER", "THIS_YEAR"):
        this_start, this_end = date_range(name, None, day)
        assert this_start <= day < this_end
        last_start, last_end = date_range(name.replace("THIS", "LAST"), None, day)
        next_start, _ = date_range(name.replace("THIS", "NEXT"), None, day)
        assert last_end == this_start and next_start == this_end and last_start < last_end
    assert date_range("THIS_WEEK", None, day)[0].weekday() == 6  # Sunday, en_US
