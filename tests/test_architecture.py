"""The structure docs/architecture.md draws, checked: who may import whom, one module for
Dramatiq's private Redis layout, one definition per XML namespace, modules of a size a
reader can hold."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest

from gateway import broker, namespaces

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_AND_TOOLS = ("gateway", "mock_erp", "mock_salesforce", "devstack")

#: The product's packages (first level under ``gateway``) and what each may import from
#: the product; ``core`` is the set of plain modules directly under ``gateway/``.
CORE = {
    "cli_support",
    "config",
    "contracts",
    "http",
    "jobs",
    "lazy",
    "lexical",
    "namespaces",
    "orders",
    "redis_connection",
    "redis_failover",
    "retries",
    "secrets",
    "settings",
    "sfid",
    "soap",
    "trail",
    "uuids",
}
MAY_IMPORT: dict[str, set[str]] = {
    "core": {"core"},
    # ``bindings check`` also compares the org bundle with the contracts.
    "bindings": {"core", "bindings", "org"},
    "broker": {"core"},
    "routes": {"core", "broker"},
    "erp": {"core"},
    "salesforce": {"core", "bindings", "salesforce"},
    "intake": {"core", "bindings", "broker", "routes", "intake"},
    "pipeline": {"core", "bindings", "broker", "routes", "erp", "salesforce", "pipeline"},
    "contracttest": {"core", "bindings", "broker", "routes", "intake", "contracttest"},
    "org": {"core", "bindings", "salesforce", "org"},
    # The operator's console reads and replays through the pipeline's own stores.
    "console": {"core", "broker", "routes", "pipeline", "salesforce", "console"},
    "cli": {"core", "bindings", "contracttest", "intake", "pipeline", "org", "console"},
}


def modules(*packages: str) -> Iterator[Path]:
    for package in packages:
        yield from sorted((ROOT / package).rglob("*.py"))


def imported(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, at any level (lazy imports in functions count)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def layer(module: str) -> str:
    """``gateway.pipeline.orders`` -> ``pipeline``; ``gateway.sfid`` -> ``core``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "core"
    name = parts[1]
    return "core" if name in CORE or name.startswith("__") else name


def test_the_product_imports_no_mock_and_no_dev_stack() -> None:
    found = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules("gateway")
        for name in imported(path)
        if name.split(".")[0] in ("mock_erp", "mock_salesforce", "devstack", "tests", "bench")
    ]
    assert found == []


def test_the_mocks_use_only_the_products_base_modules() -> None:
    """The mocks are products of their own: they share the product's XML, id and CLI
    helpers, its bindings and the org bundle's loader (the mock org runs on the bundle),
    never its pipeline, intake or the dev stack."""
    allowed = {"core", "bindings", "org"}
    found = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules("mock_erp", "mock_salesforce")
        for name in imported(path)
        if name.startswith("devstack")
        or (name.startswith("gateway.") and layer(name) not in allowed)
    ]
    assert found == []


def test_nothing_but_the_cli_imports_the_console() -> None:
    found = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules(*PRODUCT_AND_TOOLS)
        if path != ROOT / "gateway" / "cli.py"
        and not path.is_relative_to(ROOT / "gateway" / "console")
        for name in imported(path)
        if name.startswith("gateway.console")
    ]
    assert found == []


def test_each_package_imports_only_the_layers_below_it() -> None:
    found = []
    for path in modules("gateway"):
        relative = path.relative_to(ROOT / "gateway")
        own = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        if own not in MAY_IMPORT:
            assert own in CORE or own == "__init__", f"gateway/{relative}: in no layer"
            own = "core"
        allowed = MAY_IMPORT[own]
        for name in imported(path):
            if name.startswith("gateway.") and layer(name) not in allowed:
                found.append(f"gateway/{relative} ({own}) imports {name}")
    assert found == []


#: What only gateway/broker.py may spell: Dramatiq's Redis keys and message options.
DRAMATIQ_LAYOUT = re.compile(
    r"\.msgs\b|\.DQ\b|\.XQ\b|__acks__|__heartbeats__|redis_message_id"
    r"""|key\(\s*["']dramatiq["']|:dramatiq[:"'{]"""
)


def test_only_the_broker_module_spells_dramatiqs_redis_layout() -> None:
    this = Path(__file__).resolve()
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in modules(*PRODUCT_AND_TOOLS, "bench", "tests")
        if path.resolve() not in (this, (ROOT / "gateway" / "broker.py").resolve())
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if DRAMATIQ_LAYOUT.search(line)
    ]
    assert found == []


def test_the_installed_dramatiq_is_one_the_broker_module_was_checked_against() -> None:
    version = tuple(int(part) for part in dramatiq.__version__.split(".")[:2])
    low, high = broker.SUPPORTED_DRAMATIQ
    assert low <= version <= high, (
        f"dramatiq {dramatiq.__version__} is outside {low}..{high}: check gateway/broker.py's "
        "layout against the new release, then widen SUPPORTED_DRAMATIQ"
    )


def test_each_namespace_is_defined_once() -> None:
    values = {
        value
        for name, value in vars(namespaces).items()
        if name.isupper() and isinstance(value, str)
    }
    found = []
    for path in modules(*PRODUCT_AND_TOOLS, "bench", "tests"):
        if path == ROOT / "gateway" / "namespaces.py":
            continue
        for node in ast.parse(path.read_text()).body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and node.value.value in values
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


@pytest.mark.parametrize("package", PRODUCT_AND_TOOLS)
def test_no_module_is_longer_than_a_reader_can_hold(package: str) -> None:
    too_long = {
        str(path.relative_to(ROOT)): length
        for path in modules(package)
        if (length := len(path.read_text().splitlines())) > 470
    }
    assert too_long == {}


#: Tracker numbers and the workspace's notes mean nothing to a reader of the repository.
NOT_FOR_THE_REPOSITORY = re.compile(
    r"\b[Ii]ssue \d+\b|DESIGN\.md|libraries\.md|peers\.md|reference/salesforce\.md"
)


def test_no_issue_numbers_or_workspace_notes_in_code() -> None:
    this = Path(__file__).resolve()
    pattern = NOT_FOR_THE_REPOSITORY
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in modules(*PRODUCT_AND_TOOLS, "bench", "tests")
        if path.resolve() != this
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert found == []
