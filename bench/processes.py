"""Memory and CPU per process kind (redis, gateway, workers, the mocks) during a run.

Each part of the stack is a process tree: gunicorn's master and its workers, ``sfgw
worker`` and its Dramatiq processes. A background thread samples every tree about twice
a second and sums RSS per kind; the peak of those sums is what a host must provide for
that part. RSS summed over forked processes counts pages they share once per process,
so the figure is an upper bound, the number an operator sizing a container needs.

CPU seconds per kind come from the first and the last sample (user + system of every
process in the tree), so they cover the measured interval only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import psutil

SAMPLE_EVERY_S = 0.5
MB = 1024 * 1024


@dataclass(frozen=True)
class Sample:
    """One look at every tree: RSS bytes and CPU seconds so far, per kind."""

    rss: Mapping[str, int]
    cpu: Mapping[str, float]


def peak_rss(samples: Iterable[Sample]) -> dict[str, int]:
    """The largest summed RSS each kind had in any one sample."""
    peaks: dict[str, int] = {}
    for sample in samples:
        for kind, rss in sample.rss.items():
            peaks[kind] = max(peaks.get(kind, 0), rss)
    return peaks


def cpu_between(first: Sample, last: Sample) -> dict[str, float]:
    """CPU seconds each kind used between two samples (never negative: a process that
    exited in between takes its CPU time with it)."""
    return {kind: max(0.0, last.cpu.get(kind, 0.0) - first.cpu.get(kind, 0.0)) for kind in last.cpu}


def sum_by_kind(processes: Iterable[tuple[str, int, float]]) -> Sample:
    """``(kind, rss bytes, cpu seconds)`` per process -> one :class:`Sample`."""
    rss: dict[str, int] = {}
    cpu: dict[str, float] = {}
    for kind, process_rss, process_cpu in processes:
        rss[kind] = rss.get(kind, 0) + process_rss
        cpu[kind] = cpu.get(kind, 0.0) + process_cpu
    return Sample(rss=rss, cpu=cpu)


def _tree(kind: str, pid: int) -> list[tuple[str, int, float]]:
    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
    except psutil.Error:
        return []
    found = []
    for process in members:
        try:
            with process.oneshot():
                times = process.cpu_times()
                found.append((kind, int(process.memory_info().rss), times.user + times.system))
        except psutil.Error:  # it exited between listing and reading
            continue
    return found


def take_sample(roots: Mapping[str, int]) -> Sample:
    """Sum every tree (kind -> root pid) right now."""
    return sum_by_kind(row for kind, pid in roots.items() for row in _tree(kind, pid))


@dataclass
class TreeSampler:
    """Samples ``roots`` (kind -> root pid) in a daemon thread until :meth:`stop`."""

    roots: Mapping[str, int]
    every_s: float = SAMPLE_EVERY_S
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> TreeSampler:
        self.samples.append(take_sample(self.roots))
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.samples.append(take_sample(self.roots))

    def stop(self) -> TreeSampler:
        if self._thread is not None and not self._stop.is_set():
            self._stop.set()
            self._thread.join()
            self.samples.append(take_sample(self.roots))
        return self

    def peak_rss_mb(self) -> dict[str, float]:
        return {kind: round(rss / MB, 1) for kind, rss in peak_rss(self.samples).items()}

    def cpu_s(self) -> dict[str, float]:
        if len(self.samples) < 2:
            return {}
        return {k: round(v, 2) for k, v in cpu_between(self.samples[0], self.samples[-1]).items()}
