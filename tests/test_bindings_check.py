"""``sfgw bindings generate|check`` against the committed tree and edited copies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def sfgw(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def tree_copy(tmp_path: Path, repo_root: Path) -> tuple[Path, Path]:
    contracts = tmp_path / "contracts"
    generated = tmp_path / "generated"
    shutil.copytree(repo_root / "contracts", contracts)
    shutil.copytree(
        repo_root / "generated", generated, ignore=shutil.ignore_patterns("__pycache__")
    )
    return contracts, generated


def test_committed_generated_tree_matches_contracts() -> None:
    result = sfgw("bindings", "check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_fails_after_a_hand_edit_of_generated(tree_copy: tuple[Path, Path]) -> None:
    contracts, generated = tree_copy
    module = generated / "erp_orders" / "erp_orders.py"
    module.write_text(module.read_text() + "\n# hand edit\n")
    result = sfgw(
        "bindings",
        "check",
        env={"SFGW_CONTRACTS_DIR": str(contracts), "SFGW_GENERATED_DIR": str(generated)},
    )
    assert result.returncode == 1
    assert "changed     generated/erp_orders/erp_orders.py" in result.stdout


def test_check_fails_after_a_contract_edit_and_generate_fixes_it(
    tree_copy: tuple[Path, Path],
) -> None:
    contracts, generated = tree_copy
    wsdl = contracts / "salesforce" / "opportunity_with_fields.wsdl"
    wsdl.write_text(
        wsdl.read_text().replace(
            '<element name="StageName"',
            '<element name="Probability" nillable="true" minOccurs="0" type="xsd:double"/>\n'
            '                    <element name="StageName"',
        )
    )
    env = {"SFGW_CONTRACTS_DIR": str(contracts), "SFGW_GENERATED_DIR": str(generated)}
    result = sfgw("bindings", "check", env=env)
    assert result.returncode == 1
    assert "opportunity_with_fields" in result.stdout

    assert sfgw("bindings", "generate", env=env).returncode == 0
    assert (
        "probability"
        in (generated / "opportunity_with_fields" / "opportunity_with_fields.py").read_text()
    )
    assert sfgw("bindings", "check", env=env).returncode == 0


def test_generate_is_deterministic(tree_copy: tuple[Path, Path]) -> None:
    contracts, generated = tree_copy
    env = {"SFGW_CONTRACTS_DIR": str(contracts), "SFGW_GENERATED_DIR": str(generated)}
    assert sfgw("bindings", "generate", env=env).returncode == 0
    first = {p: p.read_bytes() for p in generated.rglob("*.py")}
    assert sfgw("bindings", "generate", env=env).returncode == 0
    second = {p: p.read_bytes() for p in generated.rglob("*.py")}
    assert first == second


def test_removed_contract_removes_its_package(tree_copy: tuple[Path, Path]) -> None:
    contracts, generated = tree_copy
    (contracts / "salesforce" / "opportunity_id_only.wsdl").unlink()
    env = {"SFGW_CONTRACTS_DIR": str(contracts), "SFGW_GENERATED_DIR": str(generated)}
    assert sfgw("bindings", "check", env=env).returncode == 1
    assert sfgw("bindings", "generate", env=env).returncode == 0
    assert not (generated / "opportunity_id_only").exists()
