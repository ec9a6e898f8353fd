"""Fault injection: what can go wrong with the ERP, as data, and the per-request decision.

The configuration is a small JSON document (documented in docs/mock-erp.md) so that the
same thing can be given at start-up (``--faults`` / ``SFGW_ERP_FAULTS``) and at run time
(``PUT /__admin/faults``). It is kept in the store, so every gunicorn worker and the
supervisor act on the same settings. Everything here is pure: parsing, validation and
:func:`plan` take their inputs (including the random source and the clock) as arguments.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, replace
from typing import Any, Literal

#: gunicorn kills a sync worker that is silent for longer than its timeout; every
#: injected delay stays well under the timeout the supervisor gives gunicorn.
MAX_DELAY_S = 100.0

Distribution = Literal["fixed", "uniform", "exponential"]
ErrorMode = Literal["unavailable", "http503"]


class FaultConfigError(ValueError):
    """The fault document is malformed; the message names the field and what is allowed."""


@dataclass(frozen=True)
class Latency:
    """Delay added before a SOAP request is processed."""

    distribution: Distribution = "fixed"
    ms: float = 0.0  # fixed
    min_ms: float = 0.0  # uniform
    max_ms: float = 0.0  # uniform; cap for exponential (0 = MAX_DELAY_S)
    mean_ms: float = 0.0  # exponential

    def sample_s(self, rng: random.Random) -> float:
        if self.distribution == "fixed":
            value = self.ms
        elif self.distribution == "uniform":
            value = rng.uniform(self.min_ms, self.max_ms)
        else:
            value = rng.expovariate(1.0 / self.mean_ms) if self.mean_ms > 0 else 0.0
            if self.max_ms > 0:
                value = min(value, self.max_ms)
        return min(value / 1000.0, MAX_DELAY_S)


@dataclass(frozen=True)
class FaultConfig:
    """All injected faults; the default injects nothing."""

    latency: Latency | None = None
    error_rate: float = 0.0
    error_mode: ErrorMode = "unavailable"
    slow_rate: float = 0.0
    slow_s: float = 0.0
    drop_after_commit_rate: float = 0.0
    #: Epoch seconds until which the server refuses connections (set from ``down.seconds``).
    down_until: float = 0.0
    #: CreateOrder for these ExternalReferences (18 characters) is refused with a
    #: ValidationFault of this code: one Opportunity the ERP will not take.
    reject_references: frozenset[str] = frozenset()
    reject_code: str = "REJECTED"

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if self.latency is not None:
            lat = self.latency
            if lat.distribution == "fixed":
                doc["latency"] = {"distribution": "fixed", "ms": lat.ms}
            elif lat.distribution == "uniform":
                doc["latency"] = {
                    "distribution": "uniform",
                    "min_ms": lat.min_ms,
                    "max_ms": lat.max_ms,
                }
            else:
                doc["latency"] = {"distribution": "exponential", "mean_ms": lat.mean_ms}
                if lat.max_ms:
                    doc["latency"]["max_ms"] = lat.max_ms
        if self.error_rate:
            doc["error"] = {"rate": self.error_rate, "mode": self.error_mode}
        if self.slow_rate:
            doc["slow_response"] = {"rate": self.slow_rate, "seconds": self.slow_s}
        if self.drop_after_commit_rate:
            doc["drop_after_commit"] = {"rate": self.drop_after_commit_rate}
        if self.down_until:
            doc["down"] = {"until": self.down_until}
        if self.reject_references:
            doc["reject"] = {"references": sorted(self.reject_references), "code": self.reject_code}
        return doc

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)

    def with_down_until(self, until: float) -> FaultConfig:
        return replace(self, down_until=until)


def _object(doc: Any, where: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise FaultConfigError(f"{where} must be a JSON object")
    return doc


def _number(doc: dict[str, Any], key: str, where: str, *, low: float, high: float) -> float:
    value = doc.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise FaultConfigError(f"{where}.{key} must be a number")
    if not low <= value <= high:
        raise FaultConfigError(f"{where}.{key}={value} must be between {low:g} and {high:g}")
    return float(value)


def _only(doc: dict[str, Any], keys: set[str], where: str) -> None:
    unknown = sorted(set(doc) - keys)
    if unknown:
        raise FaultConfigError(
            f"{where} has unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(keys))}"
        )


def parse_faults(doc: Any, *, now: float) -> FaultConfig:
    """Validate a fault document. ``down.seconds`` becomes an absolute ``down_until``.

    ``down.until`` (absolute epoch seconds, as :meth:`FaultConfig.to_json` writes it) is
    accepted too, so a document read with GET can be PUT back unchanged.
    """
    doc = _object(doc, "faults")
    known = {"latency", "error", "slow_response", "drop_after_commit", "down", "reject"}
    _only(doc, known, "faults")
    max_ms = MAX_DELAY_S * 1000
    latency = None
    if doc.get("latency") is not None:
        lat = _object(doc["latency"], "latency")
        kind = lat.get("distribution", "fixed")
        if kind == "fixed":
            _only(lat, {"distribution", "ms"}, "latency")
            latency = Latency("fixed", ms=_number(lat, "ms", "latency", low=0, high=max_ms))
        elif kind == "uniform":
            _only(lat, {"distribution", "min_ms", "max_ms"}, "latency")
            low = _number(lat, "min_ms", "latency", low=0, high=max_ms)
            high = _number(lat, "max_ms", "latency", low=low, high=max_ms)
            latency = Latency("uniform", min_ms=low, max_ms=high)
        elif kind == "exponential":
            _only(lat, {"distribution", "mean_ms", "max_ms"}, "latency")
            latency = Latency(
                "exponential",
                mean_ms=_number(lat, "mean_ms", "latency", low=0, high=max_ms),
                max_ms=_number(lat, "max_ms", "latency", low=0, high=max_ms),
            )
        else:
            raise FaultConfigError(
                "latency.distribution must be one of fixed, uniform, exponential"
            )
    error_rate, error_mode = 0.0, "unavailable"
    if doc.get("error") is not None:
        err = _object(doc["error"], "error")
        _only(err, {"rate", "mode"}, "error")
        error_rate = _number(err, "rate", "error", low=0, high=1)
        error_mode = err.get("mode", "unavailable")
        if error_mode not in ("unavailable", "http503"):
            raise FaultConfigError("error.mode must be 'unavailable' or 'http503'")
    slow_rate, slow_s = 0.0, 0.0
    if doc.get("slow_response") is not None:
        slow = _object(doc["slow_response"], "slow_response")
        _only(slow, {"rate", "seconds"}, "slow_response")
        slow_rate = _number(slow, "rate", "slow_response", low=0, high=1) if "rate" in slow else 1.0
        slow_s = _number(slow, "seconds", "slow_response", low=0, high=MAX_DELAY_S)
    drop = 0.0
    if doc.get("drop_after_commit") is not None:
        dac = _object(doc["drop_after_commit"], "drop_after_commit")
        _only(dac, {"rate"}, "drop_after_commit")
        drop = _number(dac, "rate", "drop_after_commit", low=0, high=1) if "rate" in dac else 1.0
    down_until = 0.0
    if doc.get("down") is not None:
        down = _object(doc["down"], "down")
        _only(down, {"seconds", "until"}, "down")
        if "seconds" in down:
            down_until = now + _number(down, "seconds", "down", low=0, high=3600)
        elif "until" in down:
            down_until = _number(down, "until", "down", low=0, high=1e11)
    references, code = _reject(doc.get("reject"))
    return FaultConfig(
        reject_references=references,
        reject_code=code,
        latency=latency,
        error_rate=error_rate,
        error_mode=error_mode,  # type: ignore[arg-type]
        slow_rate=slow_rate,
        slow_s=slow_s,
        drop_after_commit_rate=drop,
        down_until=down_until,
    )


def _reject(doc: Any) -> tuple[frozenset[str], str]:
    if doc is None:
        return frozenset(), "REJECTED"
    reject = _object(doc, "reject")
    _only(reject, {"references", "code"}, "reject")
    references = reject.get("references", [])
    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
        raise FaultConfigError("reject.references must be a list of 18-character ids")
    code = reject.get("code", "REJECTED")
    if not isinstance(code, str) or not code.replace("_", "").isalnum():
        raise FaultConfigError("reject.code must be a word such as CUSTOMER_ON_HOLD")
    return frozenset(r.upper() for r in references), code


def loads_faults(text: str, *, now: float) -> FaultConfig:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        raise FaultConfigError(
            f"faults are not valid JSON ({error.msg} at position {error.pos})"
        ) from None
    return parse_faults(doc, now=now)


@dataclass(frozen=True)
class Plan:
    """What to do to one SOAP request."""

    delay_s: float = 0.0
    error: ErrorMode | None = None
    drop_after_commit: bool = False
    slow_s: float = 0.0


def plan(config: FaultConfig, rng: random.Random) -> Plan:
    """Decide, for one request, which of the configured faults fire."""
    delay = config.latency.sample_s(rng) if config.latency is not None else 0.0
    error: ErrorMode | None = None
    if config.error_rate and rng.random() < config.error_rate:
        error = config.error_mode
    drop = bool(config.drop_after_commit_rate) and rng.random() < config.drop_after_commit_rate
    slow = config.slow_s if config.slow_rate and rng.random() < config.slow_rate else 0.0
    return Plan(delay_s=delay, error=error, drop_after_commit=drop, slow_s=slow)


def is_down(config: FaultConfig, now: float) -> bool:
    return config.down_until > now


SETTING_NAME = "faults"
