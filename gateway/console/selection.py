"""Which dead letters an operator means: the console's filter, as a pure function.

The same :class:`LetterFilter` chooses what the list shows and what "replay all
matching" and "purge all matching" act on, so an action never reaches a letter the
operator did not see listed (server-side, over every letter, not a page of them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from urllib.parse import urlencode

from gateway import sfid
from gateway.pipeline.stores import DeadLetter

STAGES = ("orders", "callbacks")
REASON_GROUP_CHARS = 60


@dataclass(frozen=True)
class LetterFilter:
    stage: str = ""
    reason: str = ""
    org: str = ""
    #: an Opportunity, notification or letter id (Salesforce ids: 15 or 18 characters)
    q: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> LetterFilter:
        def text(name: str, limit: int = 200) -> str:
            value = params.get(name)
            return value.strip()[:limit] if isinstance(value, str) else ""

        stage = text("stage")
        return cls(
            stage=stage if stage in STAGES else "",
            reason=text("reason"),
            org=text("org", 18),
            q=text("q", 40),
        )

    def query(self) -> str:
        return urlencode({k: v for k, v in asdict(self).items() if v})

    @property
    def empty(self) -> bool:
        return not any(asdict(self).values())

    @property
    def search_id(self) -> str:
        """``q`` as the 18-character id it names, or as typed when it is no Salesforce id
        (a letter id such as ``ord-3f2a9c0d1e4b``)."""
        try:
            return sfid.to18(self.q)
        except sfid.InvalidSalesforceId:
            return self.q

    def matches(self, letter: DeadLetter) -> bool:
        if self.stage and letter.stage != self.stage:
            return False
        if self.reason and self.reason.lower() not in letter.reason.lower():
            return False
        if self.org and letter.organization_id[:15] != self.org[:15]:
            return False
        if self.q:
            wanted = self.search_id
            return wanted in (letter.opportunity_id, letter.notification_id, letter.id)
        return True


def select(letters: Iterable[DeadLetter], letter_filter: LetterFilter) -> list[DeadLetter]:
    return [letter for letter in letters if letter_filter.matches(letter)]


def reason_groups(letters: Iterable[DeadLetter], top: int = 20) -> list[tuple[str, int]]:
    """The most common reasons (their first characters), for the reason filter's list."""
    counts = Counter(letter.reason[:REASON_GROUP_CHARS] for letter in letters)
    return counts.most_common(top)


def orgs(letters: Iterable[DeadLetter]) -> list[str]:
    return sorted({letter.organization_id[:15] for letter in letters if letter.organization_id})
