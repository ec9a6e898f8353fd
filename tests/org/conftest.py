"""The repository's org bundle, and writable copies of it (and of the contracts)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ORG = ROOT / "salesforce"
DEFAULT = ORG / "force-app" / "main" / "default"
WORKFLOW = "force-app/main/default/workflows/Opportunity.workflow-meta.xml"


def copy_bundle(destination: Path) -> Path:
    """The SFDX project without the Node tooling, as a user would keep it."""
    destination.mkdir(parents=True)
    shutil.copy2(ORG / "sfdx-project.json", destination)
    shutil.copy2(ORG / ".forceignore", destination)
    shutil.copytree(ORG / "force-app", destination / "force-app")
    return destination


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must occur exactly once) with ``new``."""
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new))


@pytest.fixture
def bundle_copy(tmp_path: Path) -> Path:
    return copy_bundle(tmp_path / "salesforce")


@dataclass(frozen=True)
class Checkout:
    """contracts/, generated/ and salesforce/ side by side, as in the repository."""

    root: Path

    @property
    def contracts(self) -> Path:
        return self.root / "contracts"

    @property
    def generated(self) -> Path:
        return self.root / "generated"

    @property
    def bundle(self) -> Path:
        return self.root / "salesforce"

    def env(self) -> dict[str, str]:
        return {
            "SFGW_CONTRACTS_DIR": str(self.contracts),
            "SFGW_GENERATED_DIR": str(self.generated),
        }


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    tree = Checkout(tmp_path / "checkout")
    shutil.copytree(ROOT / "contracts", tree.contracts)
    shutil.copytree(
        ROOT / "generated", tree.generated, ignore=shutil.ignore_patterns("__pycache__")
    )
    copy_bundle(tree.bundle)
    return tree
