from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import sfid

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
id15s = st.text(alphabet=ALNUM, min_size=15, max_size=15)


@pytest.mark.parametrize(
    ("id15", "id18"),
    [
        # Real ids from public captures (salesforce.md section 1.6).
        ("0067F000003pmdW", "0067F000003pmdWQAQ"),
        ("00D7F00000107Xs", "00D7F00000107XsUAI"),
        ("04l7F000008aeAy", "04l7F000008aeAyQAI"),
        ("0017F000007ydJm", "0017F000007ydJmQAI"),
    ],
)
def test_known_ids(id15: str, id18: str) -> None:
    assert sfid.to18(id15) == id18
    assert sfid.to18(id18) == id18
    assert sfid.to15(id18) == id15


@given(id15s)
def test_to18_appends_a_checksum_that_validates(id15: str) -> None:
    id18 = sfid.to18(id15)
    assert len(id18) == 18
    assert id18.startswith(id15)
    assert sfid.to18(id18) == id18
    assert sfid.is_valid(id18)


@given(id15s)
def test_suffix_case_is_ignored(id15: str) -> None:
    id18 = sfid.to18(id15)
    assert sfid.to18(id15 + id18[15:].lower()) == id18


@given(id15s, st.integers(min_value=0, max_value=14))
def test_changing_case_of_one_letter_changes_the_suffix(id15: str, position: int) -> None:
    char = id15[position]
    if not char.isalpha():
        return
    flipped = id15[:position] + char.swapcase() + id15[position + 1 :]
    assert sfid.checksum_suffix(flipped) != sfid.checksum_suffix(id15)
    # An 18-char id whose body was case-mangled no longer carries a matching checksum.
    with pytest.raises(sfid.InvalidSalesforceId):
        sfid.to18(flipped + sfid.checksum_suffix(id15))


@pytest.mark.parametrize(
    "bad",
    ["", "006", "0067F000003pmd", "0067F000003pmdWQA", "0067F000003pmd!QAQ", "0067F000003pmdWQAQX"],
)
def test_invalid_ids_are_rejected(bad: str) -> None:
    assert not sfid.is_valid(bad)
    with pytest.raises(sfid.InvalidSalesforceId):
        sfid.to18(bad)
