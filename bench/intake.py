"""The intake benchmark: how fast the gateway acks, next to what is possible and naive.

Everything runs on loopback on this host: an embedded Redis with ``appendfsync always``
(every acked write is on disk), the gateway under gunicorn (sync workers), and a load
generator of our own (processes x threads, one connection per request as Salesforce
does; sync workers do not keep connections alive anyway). The load generator shares the
CPUs with the gateway, so the numbers are a floor for a dedicated host.

Rows:

* ``gateway`` at a fixed offered load (open loop: requests start on a schedule and
  latency counts from the scheduled time, so a stalled server cannot hide its queue)
  and at saturation (closed loop, fixed concurrency).
* ``raw limit``: hardened lxml parse + one Redis write, in-process, no HTTP, no binding.
* ``naive``: in-process parse + bind + validate, then one Dramatiq ``send()`` per
  notification (no dedupe) -- what a straightforward implementation does.
* ``core``: the same in-process pipeline with our atomic dedupe+enqueue script
  (one round trip per message), to isolate the cost of the enqueue strategy.
* ``fan-out``: one Dramatiq message carrying all notifications of a message, through
  the same script: the alternative job granularity.
* ``core, xsdata binding only``: ``core`` with xsdata's ``XmlParser`` for every message
  instead of the fast binding path (what the gateway did before it existed).
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import platform
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gateway import sfid
from gateway.cli_support import print_table

CONTRACT = "opportunity_with_fields"
ORG = "00D7F00000107XsUAI"
ACTION = "04k7F0000008V3hQAE"
RESULTS = Path(__file__).resolve().parent / "results"


def message(count: int, start: int) -> bytes:
    """A realistic outbound message with ``count`` notifications, ids from ``start``."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{ORG}</OrganizationId><ActionId>{ACTION}</ActionId>"
        '<SessionId xsi:nil="true"/>'
        "<EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/62.0/00D7F00000107Xs"
        "</EnterpriseUrl><PartnerUrl>https://example.my.salesforce.com/services/Soap/u/62.0/"
        "00D7F00000107Xs</PartnerUrl>"
    ]
    for n in range(start, start + count):
        nid = sfid.to18(f"04l{n:012d}")
        rid = sfid.to18(f"006{n:012d}")
        parts.append(
            f"<Notification><Id>{nid}</Id>"
            '<sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
            f"<sf:Id>{rid}</sf:Id><sf:AccountId>0017F000007ydJmQAI</sf:AccountId>"
            "<sf:Amount>120000.0</sf:Amount><sf:CloseDate>2026-04-03</sf:CloseDate>"
            "<sf:IsWon>true</sf:IsWon><sf:LastModifiedDate>2026-04-03T10:11:12.000Z"
            "</sf:LastModifiedDate><sf:Name>Express Logistics SLA</sf:Name>"
            '<sf:Order_Number__c xsi:nil="true"/><sf:StageName>Closed Won</sf:StageName>'
            "</sObject></Notification>"
        )
    parts.append("</notifications></soapenv:Body></soapenv:Envelope>")
    return "".join(parts).encode()


@dataclass
class Row:
    name: str
    notifications: int
    mode: str
    offered: float | None
    messages: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    #: CPU milliseconds per message spent by the gateway (gunicorn master + workers, or
    #: the benchmark process in-process), by Redis, and by the load generator.
    cpu_gateway_ms: float | None = None
    cpu_redis_ms: float | None = None
    cpu_client_ms: float | None = None

    @property
    def msgs_per_s(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    def cells(self) -> list[object]:
        return [
            self.name,
            self.notifications,
            self.mode,
            "" if self.offered is None else f"{self.offered:.0f}",
            f"{self.msgs_per_s:.1f}",
            f"{self.msgs_per_s * self.notifications:.0f}",
            f"{self.p50_ms:.1f}",
            f"{self.p99_ms:.1f}",
            self.errors,
            "/".join("-" if v is None else f"{v:.2f}" for v in self._cpu()),
        ]

    def _cpu(self) -> tuple[float | None, float | None, float | None]:
        return (self.cpu_gateway_ms, self.cpu_redis_ms, self.cpu_client_ms)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _request(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml; charset=utf-8\r\n"
        f'SOAPAction: ""\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n'
    )
    return head.encode() + body


def _post(host: str, port: int, request: bytes) -> bool:
    """One delivery on a fresh connection, as cheap for the client as Python allows
    (raw socket, no HTTP library): the load generator shares the CPUs with the server."""
    try:
        with socket.create_connection((host, port), timeout=30) as sock:
            sock.sendall(request)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except OSError:
        return False
    data = b"".join(chunks)
    return data.startswith(b"HTTP/1.1 200") and b"<Ack>true</Ack>" in data


@dataclass(frozen=True)
class StartLine:
    """How the load-generator processes start together: each builds its requests, then
    waits at ``built`` with the others and the parent; the parent notes the start time
    in ``start_at`` and all pass ``go``. Making messages then never competes with the
    gateway for the CPUs during the measurement, however long it takes on a busy host."""

    built: Any  # multiprocessing Barrier, procs + 1 parties
    go: Any  # multiprocessing Barrier, procs + 1 parties
    start_at: Any  # multiprocessing Value("d"): time.monotonic() of the start

    #: Seconds any party waits for the others before the run is given up.
    TIMEOUT_S = 300.0


#: The start line of this load-generator process (set by the pool's initializer: a
#: multiprocessing barrier reaches a child by inheritance only, not as an argument).
_start_line: dict[str, StartLine] = {}


def _join(line: StartLine) -> None:
    _start_line["line"] = line


def _client(
    args: tuple[str, int, int, int, float, float | None, int, int],
) -> dict[str, Any]:
    """One load-generator process: ``threads`` threads; open loop when ``rate`` is set.
    Every request is built before the start line (:class:`StartLine`)."""
    url, size, proc, procs, duration, rate, threads, id_base = args
    line = _start_line["line"]
    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
    slots = threads * procs
    per_slot = int(duration * (rate or (2000 if size == 1 else 150)) / slots) + 2
    requests_by_thread = [
        [
            _request(path, message(size, id_base + (i * slots + proc * threads + t) * size))
            for i in range(per_slot)
        ]
        for t in range(threads)
    ]
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    line.built.wait(StartLine.TIMEOUT_S)
    line.go.wait(StartLine.TIMEOUT_S)
    start_at = float(line.start_at.value)
    deadline = start_at + duration

    def worker(thread: int) -> None:
        nonlocal errors
        k = proc * threads + thread  # this thread's slot among all clients
        for i, request in enumerate(requests_by_thread[thread]):
            scheduled = start_at + (i * slots + k) / rate if rate else time.monotonic()
            if scheduled >= deadline or time.monotonic() >= deadline:
                return
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = min(scheduled, time.monotonic()) if rate else time.monotonic()
            ok = _post(host, port, request)
            took = time.monotonic() - began
            with lock:
                if ok:
                    latencies.append(took)
                else:
                    errors += 1

    cpu = time.process_time()
    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return {"latencies": latencies, "errors": errors, "cpu": time.process_time() - cpu}


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes and all their children so far.

    Children that already exited count too (``children_user``/``children_system`` of
    their reaped parent): Redis forks for its AOF rewrite, and a fork that was alive at
    the first reading and gone at the second made the Redis column negative.
    """
    import psutil

    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for process in [root, *root.children(recursive=True)]:
                times = process.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
        except psutil.NoSuchProcess:
            continue
    return total


def http_scenario(
    url: str,
    size: int,
    duration: float,
    rate: float | None,
    *,
    procs: int,
    threads: int,
    gateway_pid: int,
    redis_pid: int,
) -> Row:
    id_base = uuid.uuid4().int % 10**9 * 1000
    ctx = multiprocessing.get_context("fork")
    line = StartLine(ctx.Barrier(procs + 1), ctx.Barrier(procs + 1), ctx.Value("d", 0.0))
    args = [(url, size, p, procs, duration, rate, threads, id_base) for p in range(procs)]
    with ctx.Pool(procs, initializer=_join, initargs=(line,)) as pool:
        pending = pool.map_async(_client, args)
        line.built.wait(StartLine.TIMEOUT_S)  # every client has built its requests
        line.start_at.value = time.monotonic()
        line.go.wait(StartLine.TIMEOUT_S)
        gateway_cpu, redis_cpu = cpu_seconds([gateway_pid]), cpu_seconds([redis_pid])
        results = pending.get()
        gateway_cpu = cpu_seconds([gateway_pid]) - gateway_cpu
        redis_cpu = cpu_seconds([redis_pid]) - redis_cpu
    latencies = sorted(x for r in results for x in r["latencies"])
    handled = max(1, len(latencies) + sum(r["errors"] for r in results))
    return Row(
        name="gateway (HTTP)",
        notifications=size,
        mode=f"fixed {rate:.0f}/s" if rate else f"saturation c={procs * threads}",
        offered=rate,
        messages=len(latencies),
        errors=sum(r["errors"] for r in results),
        seconds=duration,
        p50_ms=_percentile(latencies, 50) * 1000,
        p99_ms=_percentile(latencies, 99) * 1000,
        cpu_gateway_ms=gateway_cpu / handled * 1000,
        cpu_redis_ms=redis_cpu / handled * 1000,
        cpu_client_ms=sum(r["cpu"] for r in results) / handled * 1000,
    )


def in_process(
    name: str, size: int, seconds: float, op: Callable[[bytes], None], redis_pid: int
) -> Row:
    """Run ``op`` on fresh messages back to back for ``seconds`` (bodies made beforehand).

    Besides wall-clock latency it reports the CPU time of ``op`` itself and of Redis per
    message: unlike wall time, those barely move when other processes load the host.
    """
    bodies = [message(size, 10**9 + uuid.uuid4().int % 10**8 * 1000 + i * size) for i in range(50)]
    op(bodies[0])  # warm caches
    latencies: list[float] = []
    cpu = 0.0
    redis_cpu = cpu_seconds([redis_pid])
    began = time.perf_counter()
    i = 1
    while time.perf_counter() - began < seconds:
        body = (
            bodies[i % len(bodies)]
            if name.startswith("raw")
            else message(size, 2 * 10**9 + i * size)
        )
        c = time.process_time()
        t = time.perf_counter()
        op(body)
        latencies.append(time.perf_counter() - t)
        cpu += time.process_time() - c
        i += 1
    redis_cpu = cpu_seconds([redis_pid]) - redis_cpu
    elapsed = sum(latencies)
    latencies.sort()
    return Row(
        name,
        size,
        "in-process, 1 thread",
        None,
        len(latencies),
        0,
        elapsed,
        _percentile(latencies, 50) * 1000,
        _percentile(latencies, 99) * 1000,
        cpu_gateway_ms=cpu / len(latencies) * 1000,
        cpu_redis_ms=redis_cpu / len(latencies) * 1000,
    )


def in_process_rows(redis_url: str, prefix: str, seconds: float, redis_pid: int) -> list[Row]:
    import dramatiq
    import redis

    from gateway.bindings.binder import ContractBinder
    from gateway.broker import BrokerSettings, make_broker
    from gateway.intake.app import build_endpoints
    from gateway.intake.enqueue import DurableQueue
    from gateway.intake.settings import IntakeSettings
    from gateway.intake.validate import Rules, read_records, validate_notifications
    from gateway.routes import Route
    from gateway.soap import parse_envelope

    env = {"SFGW_REDIS_URL": redis_url, "SFGW_REDIS_PREFIX": prefix, "SFGW_ALLOWED_ORGS": ORG}
    settings = IntakeSettings.from_env(env)
    endpoint = build_endpoints(settings)[CONTRACT]
    client = redis.Redis.from_url(redis_url)
    queue = DurableQueue(settings.core, timeout_ms=5000, ready_timeout_ms=500, dedupe_ttl_s=86400)
    broker = make_broker(settings.core, BrokerSettings(15_000, 20_000, 60.0))

    def process_notification(job: dict[str, Any]) -> None:
        """Never runs: the benchmark only enqueues."""

    naive_actor = dramatiq.actor(broker=broker, queue_name="naive")(process_notification)
    rules = Rules(allowed_orgs=(ORG[:15],))
    xsdata_only = ContractBinder(endpoint.binder.package, fast=False)

    def jobs(body: bytes, binder: ContractBinder = endpoint.binder) -> list[Any]:
        payload = parse_envelope(body).payload
        records = read_records(payload)
        bound = binder.bind(payload, endpoint.notifications_cls)
        result = validate_notifications(
            bound, records, endpoint.spec, rules, received_at="now", seal=lambda s: None
        )
        if not isinstance(result, list):
            raise RuntimeError(f"benchmark message rejected: {result.reason}")
        return result

    def raw(body: bytes) -> None:
        parse_envelope(body)
        client.rpush(f"{prefix}:raw", body)

    def naive(body: bytes) -> None:
        for job in jobs(body):
            naive_actor.send(job.to_dict())

    def core(body: bytes) -> None:
        queue.enqueue(jobs(body), Route("core", "process_notification"))

    def core_xsdata(body: bytes) -> None:
        queue.enqueue(jobs(body, xsdata_only), Route("core", "process_notification"))

    fan_route = Route("fanout", "process_message")

    def fan_out(body: bytes) -> None:
        # one Dramatiq message carrying every job of the message (as one JSON field),
        # through the same atomic script: one round trip, like the per-notification path
        batch = jobs(body)
        everything = json.dumps([vars(j) for j in batch])
        queue.enqueue([dataclasses.replace(batch[0], fields={"jobs": everything})], fan_route)

    scenarios: list[tuple[str, Callable[[bytes], None], tuple[int, ...]]] = [
        ("raw limit: lxml parse + 1 Redis write", raw, (1, 100)),
        ("naive: bind + send() per notification", naive, (1, 100)),
        ("core: bind + atomic dedupe/enqueue", core, (1, 100)),
        ("core, xsdata binding only", core_xsdata, (1, 100)),
        ("fan-out: bind + 1 message per envelope", fan_out, (100,)),
    ]
    rows = [
        in_process(name, size, seconds, op, redis_pid)
        for size in (1, 100)
        for name, op, sizes in scenarios
        if size in sizes
    ]
    broker.close()
    client.close()
    queue.close()
    return rows


def _http_rows(redis_url: str, redis_pid: int, workers: int, duration: float) -> list[Row]:
    from devstack.launch import start_gateway

    with tempfile.TemporaryDirectory(prefix="sfgw-bench-gw-") as tmp:
        gateway = start_gateway(
            Path(tmp),
            redis_url=redis_url,
            redis_prefix=f"bench-{uuid.uuid4().hex[:8]}",
            # INFO: the one access-log line per request is part of the measured cost.
            env={"SFGW_ALLOWED_ORGS": ORG, "SFGW_LOG_LEVEL": "INFO"},
            workers=workers,
        )
        try:
            url = gateway.outbound_url(CONTRACT)
            port = urlsplit(url).port or 80
            for size in (1, 100):  # warm every worker's parser and Redis connection
                for _ in range(4 * workers):
                    body = message(size, uuid.uuid4().int % 10**9 * 1000)
                    _post("127.0.0.1", port, _request(urlsplit(url).path, body))
            pids = {"gateway_pid": gateway.child.pid, "redis_pid": redis_pid}
            return [
                http_scenario(url, 100, duration, 40.0, procs=2, threads=4, **pids),
                http_scenario(url, 100, duration, None, procs=2, threads=3, **pids),
                http_scenario(url, 1, duration, 400.0, procs=2, threads=8, **pids),
                http_scenario(url, 1, duration, None, procs=2, threads=4, **pids),
            ]
        finally:
            gateway.stop()


def run(duration: float = 8.0, workers: int | None = None, only: str | None = None) -> int:
    from devstack.embedded_redis import EmbeddedRedis

    cpus = os.cpu_count() or 1
    workers = workers or 2 * cpus
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sfgw-bench-") as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis").start()
        try:
            if server.child is None:  # pragma: no cover - start() sets it
                raise RuntimeError("embedded Redis did not start")
            redis_pid = server.child.pid
            rows: list[Row] = []
            if only in (None, "http"):
                rows += _http_rows(server.url, redis_pid, workers, duration)
            if only in (None, "in-process"):
                prefix = f"bench-{uuid.uuid4().hex[:8]}"
                rows += in_process_rows(server.url, prefix, 3.0, redis_pid)
        finally:
            server.stop()
    headers = [
        "path",
        "notifs/msg",
        "mode",
        "offered/s",
        "msgs/s",
        "notifs/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "cpu ms/msg gw/redis/client",
    ]
    print(
        f"sfgw intake benchmark: {cpus} CPUs, gunicorn sync x{workers}, Redis appendfsync "
        f"always, load generator on the same host; load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print_table(headers, [row.cells() for row in rows])
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"intake-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "intake",
                "when": stamp,
                "host": {
                    "cpus": cpus,
                    "python": platform.python_version(),
                    "load": os.getloadavg(),
                },
                "gunicorn_workers": workers,
                "seconds_total": round(time.monotonic() - began, 1),
                "rows": [
                    {
                        **asdict(r),
                        "msgs_per_s": r.msgs_per_s,
                        "notifs_per_s": r.msgs_per_s * r.notifications,
                    }
                    for r in rows
                ],
            },
            indent=2,
        )
    )
    print(
        f"wrote {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out} "
        f"in {time.monotonic() - began:.0f}s"
    )
    return 0
