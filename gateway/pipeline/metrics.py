"""Prometheus metrics of the pipeline, per stage (``orders``, ``callbacks``).

Workers run as several processes; ``sfgw worker`` points ``PROMETHEUS_MULTIPROC_DIR`` at
a fresh directory and Dramatiq's Prometheus middleware serves the sum over all of them
(plus its own ``dramatiq_*`` metrics) on ``SFGW_WORKER_METRICS_PORT``.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

JOBS = Counter(
    "sfgw_pipeline_jobs_total",
    "Jobs by stage and outcome (done, skipped, retried, dead_lettered)",
    ["stage", "outcome"],
)
LATENCY = Histogram(
    "sfgw_pipeline_job_seconds",
    "Time one attempt of a stage took",
    ["stage"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
END_TO_END = Histogram(
    "sfgw_pipeline_age_seconds",
    "Age of a job (since it was first enqueued) when its stage completed",
    ["stage"],
    buckets=(0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600),
)
