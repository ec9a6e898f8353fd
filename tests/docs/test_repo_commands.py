"""Documented things that need no stack: docs/bindings.md's binding snippet, run on a real
message, and README's ``scripts/test`` (checked, not run: it is what runs this suite)."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from tests.docs.extract import REPO
from tests.docs.runner import Docs, executes
from tests.intake.messages import simple_message

BINDING = 'python: binder = ContractBinder("generated.opportunity_with_fields")'


@executes(BINDING)
def test_the_binding_snippet_binds_a_real_outbound_message(docs: Docs) -> None:
    sent = simple_message(3, start=7)
    namespace: dict[str, Any] = {"body": sent.xml()}
    exec(docs.python(BINDING), namespace)  # noqa: S102 - the documented snippet
    message = namespace["message"]
    assert type(message).__name__ == "Notifications"
    assert [n.id for n in message.notification] == [r.notification_id for r in sent.records]
    assert [n.s_object.id for n in message.notification] == [r.record_id for r in sent.records]


def test_scripts_test_runs_the_four_checks_the_readme_names() -> None:
    """README: ``scripts/test  # ruff, ruff format --check, mypy --strict, pytest``."""
    script = (REPO / "scripts" / "test").read_text()
    commands = [
        line.strip()
        for line in script.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "echo", "source"))
    ]
    assert commands == ["ruff check .", "ruff format --check .", "mypy", 'pytest "$@"']
    assert re.search(r'^source "\$\(dirname "\$0"\)/_bootstrap.sh"$', script, re.MULTILINE)
    assert tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]["strict"] is True


CONTRACT_TEST = "sfgw bindings test"
CONTRACT_TEST_SEEDED = "sfgw bindings test --examples 50 --seed 1"


@executes(CONTRACT_TEST, CONTRACT_TEST_SEEDED)
def test_the_contract_test_passes_on_the_checkouts_contracts(docs: Docs) -> None:
    """Both documented forms, on the shipped contracts, with no Redis configured: the
    command starts its own embedded server."""
    env = {"SFGW_REDIS_URL": ""}
    for key in (CONTRACT_TEST, CONTRACT_TEST_SEEDED):
        result = docs.run(key, env=env, timeout=300)
        out = result.ok()
        header, _, *rows, last = out.strip().splitlines()
        assert header.split() == [
            "contract",
            "object",
            "/",
            "class",
            "fields",
            "valid",
            "mutated",
            "result",
        ]
        assert [row.split()[0] for row in rows] == [
            "opportunity_id_only",
            "opportunity_with_fields",
        ]
        assert all(row.rstrip().endswith(" ok") for row in rows), out
        assert last.startswith("all 2 contract(s) passed in ")
        assert "embedded Redis" in result.stderr
    assert "seed 1," in result.stderr
