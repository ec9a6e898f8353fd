"""Prometheus metrics of the intake gateway.

Under gunicorn with several workers each worker is its own process, so the metrics use
prometheus_client's multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set (the
gunicorn config sets it before any worker imports prometheus_client) and ``/metrics``
aggregates the per-process files. In a single process (tests) they live in a private
registry, so several apps can coexist. Label values are fixed codes, never input.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class IntakeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "sfgw_intake_requests_total",
            "SOAP requests by outcome (acked, fault) and fault reason",
            ["contract", "outcome", "reason"],
            registry=self.registry,
        )
        self.notifications = Counter(
            "sfgw_intake_notifications_total",
            "Notifications in acked messages, by whether they were new or duplicates",
            ["contract", "result"],
            registry=self.registry,
        )
        self.session_ids_dropped = Counter(
            "sfgw_intake_session_ids_dropped_total",
            "SessionIds received while no SFGW_SECRET_KEY is configured (not stored)",
            registry=self.registry,
        )
        self.ack_latency = Histogram(
            "sfgw_intake_ack_seconds",
            "Time from request start to the acknowledgement (acked messages)",
            ["contract"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.message_bytes = Histogram(
            "sfgw_intake_message_bytes",
            "Size of SOAP request bodies",
            ["contract"],
            buckets=(1024, 4096, 16384, 65536, 262144, 1048576, 5242880),
            registry=self.registry,
        )

    def render(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
