"""What the console's two actions do: replay and purge dead letters.

One implementation with the CLI: a replay is :func:`gateway.pipeline.replay.replay`,
exactly what ``sfgw dlq replay`` runs (enqueue into the letter's stage, then remove the
letter and note the replay on its record's trail); a purge removes the chosen letters
(:meth:`gateway.pipeline.stores.DeadLetters.discard`). Which letters: the ``selected``
ids, or every letter ``matching`` the filter, chosen here on the server over all
letters, never a page of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dramatiq

from gateway.console.layout import SEEN_FIELD
from gateway.console.selection import LetterFilter, select
from gateway.pipeline.replay import replay
from gateway.pipeline.stores import DeadLetter, DeadLetters

SCOPES = ("selected", "matching")
MAX_SELECTED = 10_000


@dataclass(frozen=True)
class Choice:
    """The letters an action is about, as the form said."""

    scope: str
    ids: tuple[str, ...]
    letter_filter: LetterFilter
    #: when the operator saw the letters: a letter written later is not theirs to touch
    seen: float | None = None

    @classmethod
    def from_form(cls, form: dict[str, list[str]]) -> Choice:
        scope = (form.get("scope") or [""])[0]
        ids = tuple(dict.fromkeys(i for i in form.get("ids", []) if 0 < len(i) <= 40))
        flat = {k: v[0] for k, v in form.items() if v}
        return cls(scope if scope in SCOPES else "", ids[:MAX_SELECTED],
                   LetterFilter.from_params(flat), _seen(flat.get(SEEN_FIELD)))  # fmt: skip


def _seen(value: str | None) -> float | None:
    try:
        seen = float(value or "")
    except ValueError:
        return None
    return seen if math.isfinite(seen) and seen > 0 else None


def chosen(dead_letters: DeadLetters, choice: Choice) -> list[DeadLetter]:
    """The letters the form means, as they are now, less any written after ``seen``."""
    letters: list[DeadLetter] = []
    if choice.scope == "matching":
        letters = select(dead_letters.iter(), choice.letter_filter)
    elif choice.scope == "selected":
        found = (dead_letters.get(letter_id) for letter_id in choice.ids)
        letters = [letter for letter in found if letter is not None]
    if choice.seen is not None:
        letters = [letter for letter in letters if letter.when <= choice.seen]
    return letters


def replay_letters(
    broker: Callable[[], dramatiq.Broker], dead_letters: DeadLetters, letters: Sequence[DeadLetter]
) -> int:
    if not letters:
        return 0
    return replay(broker(), dead_letters, letters)


def purge_letters(dead_letters: DeadLetters, letters: Sequence[DeadLetter]) -> int:
    return dead_letters.discard(letters)


def plural(count: int, noun: str = "dead letter") -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
