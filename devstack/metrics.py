"""Reading a process's Prometheus ``/metrics`` page (the demo's and benchmarks' figures)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests

Samples = list[tuple[str, dict[str, str], float]]


def iter_metric_samples(text: str) -> Iterator[tuple[str, dict[str, str], float]]:
    """``(name, labels, value)`` of every sample in a Prometheus text exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            yield sample.name, dict(sample.labels), float(sample.value)


def read_metrics(url: str, timeout: float = 10.0) -> Samples:
    """Fetch and parse one ``/metrics`` page; an empty list when it does not answer."""
    try:
        response = requests.get(url, timeout=timeout)
        response.raise_for_status()
    except requests.RequestException:
        return []
    return list(iter_metric_samples(response.text))


def metric_total(samples: Samples, name: str, **labels: Any) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels``."""
    return sum(
        value
        for sample_name, sample_labels, value in samples
        if sample_name == name and all(sample_labels.get(k) == v for k, v in labels.items())
    )
