"""SOQL date literals (``TODAY``, ``LAST_N_DAYS:30``, ...) as ranges of days (pure).

Each literal names a range ``[start, end)`` of whole days relative to today, as the SOQL
reference's "Date Formats and Date Literals" table defines them: ``LAST_N_DAYS:n``
includes today and the n days before it (``LAST_N_DAYS:1`` is yesterday and today);
``NEXT_N_DAYS:n`` starts tomorrow; weeks start on Sunday (the en_US locale); months,
quarters and years are calendar ones. The mock's user and org are on GMT, so "today" is
the UTC date. Fiscal literals use the default fiscal year (starting in January), where
they equal the calendar ones.

``=`` means within the range, ``<`` before it and ``>`` after it; the comparison itself
is :mod:`mock_salesforce.soql.evaluate`'s.
"""

from __future__ import annotations

import datetime as dt

Range = tuple[dt.date, dt.date]

#: Literals that take ``:n``.
WITH_N = frozenset(
    {
        "LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "LAST_N_WEEKS", "NEXT_N_WEEKS",
        "N_WEEKS_AGO", "LAST_N_MONTHS", "NEXT_N_MONTHS", "N_MONTHS_AGO", "LAST_N_QUARTERS",
        "NEXT_N_QUARTERS", "N_QUARTERS_AGO", "LAST_N_YEARS", "NEXT_N_YEARS", "N_YEARS_AGO",
        "LAST_N_FISCAL_QUARTERS", "NEXT_N_FISCAL_QUARTERS", "N_FISCAL_QUARTERS_AGO",
        "LAST_N_FISCAL_YEARS", "NEXT_N_FISCAL_YEARS", "N_FISCAL_YEARS_AGO",
    }
)  # fmt: skip
WITHOUT_N = frozenset(
    {
        "YESTERDAY", "TODAY", "TOMORROW", "LAST_WEEK", "THIS_WEEK", "NEXT_WEEK",
        "LAST_MONTH", "THIS_MONTH", "NEXT_MONTH", "LAST_90_DAYS", "NEXT_90_DAYS",
        "THIS_QUARTER", "LAST_QUARTER", "NEXT_QUARTER", "THIS_YEAR", "LAST_YEAR", "NEXT_YEAR",
        "THIS_FISCAL_QUARTER", "LAST_FISCAL_QUARTER", "NEXT_FISCAL_QUARTER",
        "THIS_FISCAL_YEAR", "LAST_FISCAL_YEAR", "NEXT_FISCAL_YEAR",
    }
)  # fmt: skip
_DAY = dt.timedelta(days=1)


def _months(start: dt.date, count: int) -> dt.date:
    """The first day of the month ``count`` months from ``start``'s month."""
    index = start.year * 12 + start.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def _span(unit: str, today: dt.date) -> tuple[dt.date, int]:
    """(start of the current unit, its length in months; 0 for weeks)."""
    if unit == "WEEK":
        return today - dt.timedelta(days=(today.weekday() + 1) % 7), 0  # Sunday
    month = dt.date(today.year, today.month, 1)
    if unit == "MONTH":
        return month, 1
    if unit == "QUARTER":
        return dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1), 3
    return dt.date(today.year, 1, 1), 12


def _shift(start: dt.date, months: int, count: int) -> dt.date:
    return start + dt.timedelta(weeks=count) if months == 0 else _months(start, months * count)


def _unit(name: str) -> str:
    for unit in ("DAY", "WEEK", "MONTH", "QUARTER", "YEAR"):
        if name.endswith((unit, unit + "S", f"{unit}S_AGO")):
            return unit
    raise KeyError(name)


def date_range(name: str, n: int | None, today: dt.date) -> Range:  # noqa: PLR0911 - one return per family of literals
    """The days ``name`` (and ``n``) covers: ``[start, end)``. KeyError: not a literal."""
    name = name.upper().replace("_FISCAL", "")
    fixed = {"YESTERDAY": -1, "TODAY": 0, "TOMORROW": 1}
    if name in fixed:
        day = today + fixed[name] * _DAY
        return day, day + _DAY
    if name == "LAST_90_DAYS":
        return date_range("LAST_N_DAYS", 90, today)
    if name == "NEXT_90_DAYS":
        return date_range("NEXT_N_DAYS", 90, today)
    count = n or 0
    if name.endswith("DAYS") or name.endswith("DAYS_AGO"):
        if name == "LAST_N_DAYS":
            return today - count * _DAY, today + _DAY
        if name == "NEXT_N_DAYS":
            return today + _DAY, today + (count + 1) * _DAY
        return today - count * _DAY, today - (count - 1) * _DAY
    start, months = _span(_unit(name), today)
    if name.startswith("THIS_"):
        return start, _shift(start, months, 1)
    if name.startswith("LAST_N_"):
        return _shift(start, months, -count), start
    if name.startswith("NEXT_N_"):
        return _shift(start, months, 1), _shift(start, months, 1 + count)
    if name.startswith("N_"):
        return _shift(start, months, -count), _shift(start, months, 1 - count)
    if name.startswith("LAST_"):
        return _shift(start, months, -1), start
    if name.startswith("NEXT_"):
        return _shift(start, months, 1), _shift(start, months, 2)
    raise KeyError(name)


def is_literal(name: str) -> bool:
    upper = name.upper()
    return upper in WITH_N or upper in WITHOUT_N
