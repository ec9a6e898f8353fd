"""The body of ``sfgw bindings test``: which contracts, which Redis, and the report.

The checks themselves are in :mod:`gateway.contracttest.checks`. Redis is the configured
one (``SFGW_REDIS_URL`` or ``SFGW_REDIS_SENTINELS``; used under a throwaway key prefix
that is deleted afterwards; nothing else on that server is touched) or, when neither is
set, an embedded server started for the run in a temporary directory.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from gateway.bindings.outbound import use_generated_dir
from gateway.cli_support import CommandError, print_table
from gateway.contracts import outbound_contracts
from gateway.contracttest.checks import (
    ContractOutcome,
    ContractTestOptions,
    IntakeUnderTest,
    run,
)
from gateway.redis_connection import RedisSettings
from gateway.settings import CoreSettings

#: Longest excerpt of a failing message printed (the whole one is written to a file).
SHOWN_BYTES = 4000


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


#: Entry point group naming the embedded server class (the dev stack provides one).
EMBEDDED_REDIS = "sfgw.embedded_redis"


class EmbeddedServer(Protocol):
    """What this command needs of an embedded server: start it in a directory, its URL."""

    url: str

    def start(self) -> EmbeddedServer: ...

    def stop(self) -> None: ...


def _embedded_server(data_dir: Path) -> EmbeddedServer:
    found = list(entry_points(group=EMBEDDED_REDIS))
    if not found:
        raise CommandError(
            "SFGW_REDIS_URL is not set and no embedded Redis is installed: set SFGW_REDIS_URL "
            "(only a throwaway key prefix is used on it) or pip install 'sfgw[demo]'"
        )
    server_class: Callable[..., EmbeddedServer] = found[0].load()
    return server_class(data_dir=data_dir)


@contextlib.contextmanager
def _redis(settings: CoreSettings) -> Iterator[tuple[RedisSettings, str]]:
    """How to reach Redis and how to describe it: the configured one, or an embedded
    server."""
    if settings.redis.configured:
        yield settings.redis, f"{settings.redis.describe()} (throwaway key prefix)"
        return
    with tempfile.TemporaryDirectory(prefix="sfgw-bindings-test-") as scratch:
        server = _embedded_server(Path(scratch))
        try:
            server.start()
        except Exception as error:  # the server's own error says what is missing
            raise CommandError(f"cannot start the embedded Redis: {error}") from None
        try:
            yield RedisSettings.for_url(server.url), f"embedded Redis at {server.url}"
        finally:
            server.stop()


def _select(settings: CoreSettings, wanted: list[str] | None) -> list[str]:
    known = [c.name for c in outbound_contracts(settings.contracts_dir)]
    if not known:
        raise CommandError(
            f"no outbound-message contracts in {settings.contracts_dir}; add a WSDL "
            "(SFGW_CONTRACTS_DIR says where they are)"
        )
    if not wanted:
        return known
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise CommandError(
            f"--contract {unknown[0]}: no such outbound-message contract; known: {', '.join(known)}"
        )
    return list(dict.fromkeys(wanted))


def _result(outcome: ContractOutcome) -> str:
    if outcome.failure is not None:
        return f"FAILED: {outcome.failure.check}"
    return "ok"


def _mutations(outcome: ContractOutcome) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(outcome.mutated.items())) or "-"


def run_command(args: argparse.Namespace) -> int:
    settings = CoreSettings.from_env()
    use_generated_dir(settings.generated_dir)
    contracts = _select(settings, args.contract)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    options = ContractTestOptions(examples=args.examples, seed=seed)
    outcomes: list[ContractOutcome] = []
    started = time.monotonic()
    with _redis(settings) as (redis_settings, where):
        _progress(
            f"sfgw bindings test: {len(contracts)} contract(s), {options.examples} valid and "
            f"{options.examples} mutated messages each, seed {seed}, {where}"
        )
        intake = IntakeUnderTest(redis_settings)
        try:
            outcomes.extend(run(intake, contracts, options, _progress))
        finally:
            intake.close()
    print_table(
        ["contract", "object / class", "fields", "valid", "mutated", "result"],
        [
            (o.contract, o.object_label, o.fields, o.valid, _mutations(o), _result(o))
            for o in outcomes
        ],
    )
    for outcome in outcomes:
        if outcome.untyped:
            print(
                f"note: {outcome.contract}: no values drawn for {', '.join(outcome.untyped)} "
                "(a type sfgw has no generator for); sent only as nil or omitted"
            )
    failed = [o for o in outcomes if o.failure is not None]
    if not failed:
        print(f"all {len(outcomes)} contract(s) passed in {time.monotonic() - started:.1f} s")
        return 0
    for outcome in failed:
        _report_failure(outcome, options)
    print(f"{len(failed)} of {len(outcomes)} contract(s) failed")
    return 1


def _report_failure(outcome: ContractOutcome, options: ContractTestOptions) -> None:
    failure = outcome.failure
    if failure is None:
        return
    seed = options.seed
    print()
    print(f"FAILED {outcome.contract}: {failure.check}: {failure.reason}")
    text = _readable(failure.body)
    saved = Path(tempfile.gettempdir()) / f"sfgw-bindings-test-{outcome.contract}-{seed}.xml"
    saved.write_bytes(failure.body)
    print(f"shrunk example ({len(failure.body):,} bytes, also in {saved}):")
    print(text if len(text) <= SHOWN_BYTES else text[:SHOWN_BYTES] + "\n... (truncated)")
    print(
        f"reproduce: sfgw bindings test --contract {outcome.contract} "
        f"--examples {options.examples} --seed {seed}"
    )


def _readable(body: bytes) -> str:
    """The message indented for reading (the saved file keeps the exact bytes)."""
    from lxml import etree

    try:
        root = etree.fromstring(body)
    except etree.XMLSyntaxError:
        return body.decode("utf-8", "replace")
    etree.indent(root, space="  ")
    return etree.tostring(root, encoding="unicode")
