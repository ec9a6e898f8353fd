"""``sfgw bindings test``: the contract test a user runs in CI for their own WSDLs.

For each outbound-message contract, hypothesis draws messages from the WSDL's own shape
(:mod:`gateway.contracttest.samples`) and posts them to the real intake application,
in-process, backed by a real Redis under a throwaway key prefix. It checks what the
gateway promises Salesforce and the workers:

* a valid message (1 to 100 notifications, every declared field with a value, nil or
  absent, 15- or 18-character ids) is acked, and the queued jobs carry exactly the sent
  values;
* the same message delivered again is acked and queues nothing more;
* a mutated message -- another org, a wrong id checksum, a wrong ``xsi:type``, more than
  100 notifications, an element the contract does not declare -- gets a SOAP fault and
  leaves nothing in Redis.

Fixed boundary messages (100 notifications with every field set, and 101) run first. A
failure is shrunk by hypothesis and reported with the smallest message that shows it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import falcon.testing
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from lxml import etree

from gateway import sfid
from gateway.bindings.outbound import describe_class
from gateway.bindings.shape import MAX_NOTIFICATIONS
from gateway.broker import QueueReader
from gateway.contracttest import samples
from gateway.contracttest.samples import Message, Notification
from gateway.intake.app import SOAP_ROUTE_PREFIX, Endpoint, build_endpoints, create_app
from gateway.intake.enqueue import DurableQueue
from gateway.intake.settings import IntakeSettings
from gateway.namespaces import OUTBOUND_MESSAGE
from gateway.redis_connection import RedisSettings, connect
from gateway.soap import parse_envelope

#: The org the throwaway gateway accepts; any valid org id would do.
TEST_ORG = sfid.to18("00D7F00000107Xs")
#: Settings of the user's environment that shape what the intake does with a message.
PASSED_THROUGH = ("SFGW_CONTRACTS_DIR", "SFGW_GENERATED_DIR", "SFGW_MAX_BODY_BYTES")
MUTATIONS = (
    "wrong org",
    "bad id checksum",
    "wrong xsi:type",
    "101 notifications",
    "unknown element",
)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Failure:
    """What went wrong, and the (shrunk) message that shows it."""

    check: str
    reason: str
    body: bytes


@dataclass
class ContractOutcome:
    contract: str
    object_label: str
    fields: int
    valid: int = 0
    mutated: dict[str, int] = field(default_factory=dict)
    #: fields whose type has no value generator: sent only as nil or omitted
    untyped: list[str] = field(default_factory=list)
    failure: Failure | None = None


@dataclass(frozen=True)
class Reply:
    status: int
    acked: bool
    fault: str | None


class IntakeUnderTest:
    """The real intake application in this process, on a Redis key prefix of its own."""

    def __init__(self, redis_settings: RedisSettings, env: dict[str, str] | None = None) -> None:
        self.prefix = f"sfgw-bindings-test-{secrets.token_hex(4)}"
        source = os.environ if env is None else env
        settings_env = {name: source[name] for name in PASSED_THROUGH if name in source}
        settings_env.update({k: v for k, v in source.items() if k.startswith("SFGW_ROUTE_")})
        settings_env.update({"SFGW_REDIS_PREFIX": self.prefix, "SFGW_ALLOWED_ORGS": TEST_ORG})
        settings = IntakeSettings.from_env(settings_env)
        # The user's Redis, whichever way it is reached; the check is about contracts, not
        # replication, so no ack waits for replicas here.
        redis_settings = replace(redis_settings, min_replicas=0)
        self.settings = replace(settings, core=replace(settings.core, redis=redis_settings))
        self.queue = DurableQueue(
            self.settings.core, timeout_ms=10_000, ready_timeout_ms=2_000, dedupe_ttl_s=604_800
        )
        self.endpoints = build_endpoints(self.settings)
        app = create_app(self.settings, queue=self.queue, endpoints=self.endpoints)
        self.client = falcon.testing.TestClient(app)
        self.redis = connect(redis_settings, timeout_s=10, client_name="sfgw-bindings-test")
        self.reader = QueueReader(self.redis, self.settings.core)

    def post(self, contract: str, body: bytes) -> Reply:
        result = self.client.simulate_post(
            SOAP_ROUTE_PREFIX + contract,
            body=body,
            headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
        )
        return read_reply(result.status_code, result.content)

    def queued_jobs(self, queue: str) -> list[dict[str, Any]]:
        return [message.args[0] for message in self.reader.queued(queue)]

    def stored_keys(self) -> list[str]:
        return [key.decode() for key in self.redis.scan_iter(match=f"{self.prefix}:*")]

    def clear(self) -> None:
        """Delete every key under this run's own prefix (never anything else)."""
        keys = self.stored_keys()
        if keys:
            self.redis.delete(*keys)

    def close(self) -> None:
        self.clear()
        self.queue.close()
        self.redis.close()


def read_reply(status: int, body: bytes) -> Reply:
    """An Ack, a Fault, or neither (then ``acked`` is False and ``fault`` None)."""
    try:
        payload = parse_envelope(body).payload
    except ValueError:
        return Reply(status, False, None)
    if etree.QName(payload).localname == "Fault":
        return Reply(status, False, payload.findtext("faultstring") or "")
    ack = payload.findtext(f"{{{OUTBOUND_MESSAGE}}}Ack")
    return Reply(status, status == 200 and ack == "true", None)


def expected_jobs(contract: str, message: Message) -> list[dict[str, Any]]:
    """What the queued jobs must say: ids in their 18-character form, fields as sent."""
    return [
        {
            "contract": contract,
            "organization_id": sfid.to18(message.organization_id),
            "action_id": sfid.to18(message.action_id),
            "notification_id": sfid.to18(item.notification_id),
            "object_type": message.shape.object_name,
            "record_id": None if item.record_id is None else sfid.to18(item.record_id),
            "fields": item.fields,
        }
        for item in message.notifications
    ]


def _job_view(job: dict[str, Any]) -> dict[str, Any]:
    keys = ("contract", "organization_id", "action_id", "notification_id", "object_type")
    return {
        **{k: job.get(k) for k in keys},
        "record_id": job.get("record_id"),
        "fields": job.get("fields"),
    }


def check_valid(intake: IntakeUnderTest, endpoint: Endpoint, message: Message) -> Failure | None:
    """Acked; the jobs carry exactly the sent values; a redelivery queues nothing more."""
    intake.clear()
    contract = endpoint.bindings.contract.name
    body = message.xml()
    reply = intake.post(contract, body)
    if not reply.acked:
        return Failure("valid message", f"not acked: {reply.fault or f'HTTP {reply.status}'}", body)
    jobs = [_job_view(job) for job in intake.queued_jobs(endpoint.route.queue)]
    expected = expected_jobs(contract, message)
    if jobs != expected:
        return Failure("queued jobs", _first_difference(expected, jobs), body)
    again = intake.post(contract, body)
    if not again.acked:
        return Failure("redelivery", f"not acked: {again.fault or f'HTTP {again.status}'}", body)
    queued = len(intake.reader.queued(endpoint.route.queue))
    if queued != len(expected):
        return Failure("redelivery", f"queued {queued - len(expected)} more job(s)", body)
    return None


def check_refused(
    intake: IntakeUnderTest, endpoint: Endpoint, kind: str, body: bytes
) -> Failure | None:
    """A SOAP fault (HTTP 500) and not one key written to Redis."""
    intake.clear()
    reply = intake.post(endpoint.bindings.contract.name, body)
    if reply.fault is None or reply.status != 500:
        outcome = "acked" if reply.acked else f"answered HTTP {reply.status} without a fault"
        return Failure(kind, f"a message with {kind} was {outcome}", body)
    left = intake.stored_keys()
    if left:
        return Failure(kind, f"refused, but {len(left)} key(s) were written: {left[0]}", body)
    return None


def _first_difference(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> str:
    if len(expected) != len(actual):
        return f"{len(actual)} job(s) queued for {len(expected)} notification(s)"
    for index, (want, got) in enumerate(zip(expected, actual, strict=True), 1):
        for key in want:
            if key == "fields":
                for name in sorted(set(want["fields"]) | set(got["fields"] or {})):
                    sent = want["fields"].get(name, "<absent>")
                    queued = (got["fields"] or {}).get(name, "<absent>")
                    if sent != queued:
                        return (
                            f"job {index}: field {name} was sent as {sent!r}, queued as {queued!r}"
                        )
            elif want[key] != got[key]:
                return f"job {index}: {key} should be {want[key]!r}, is {got[key]!r}"
    return "the jobs differ"


# -- mutations --------------------------------------------------------------------------


def _wrong_suffix(value: str) -> str:
    right = sfid.to18(value)[15:]
    wrong = "".join("B" if c == "A" else "A" for c in right)
    return sfid.to18(value)[:15] + wrong


_KINDS = st.sampled_from(MUTATIONS)
_OTHER_ORGS = samples.salesforce_id("00D").filter(lambda org: org[:15] != TEST_ORG[:15])


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[Message]) -> tuple[str, bytes]:
    """A valid message with exactly one thing wrong, and the name of that thing."""
    message = draw(valid)
    shape = message.shape
    kind = draw(_KINDS)
    items = list(message.notifications)
    index = draw(st.integers(0, len(items) - 1))
    target = items[index]
    if kind == "wrong org":
        return kind, replace(message, organization_id=draw(_OTHER_ORGS)).xml()
    if kind == "bad id checksum":
        places = ["OrganizationId", "notification Id"]
        places += ["record Id"] if target.record_id else []
        id_fields = {f.name for f in shape.fields if f.type_label == "ID"}
        places += sorted(name for name, v in target.fields.items() if v and name in id_fields)
        place = draw(st.sampled_from(places))
        if place == "OrganizationId":
            return kind, replace(message, organization_id=_wrong_suffix(TEST_ORG)).xml()
        if place == "notification Id":
            target = replace(target, notification_id=_wrong_suffix(target.notification_id))
        elif place == "record Id":
            target = replace(target, record_id=_wrong_suffix(target.record_id or ""))
        else:
            target = replace(
                target, fields={**target.fields, place: _wrong_suffix(target.fields[place] or "")}
            )
    elif kind == "wrong xsi:type":
        target = replace(
            target, xsi_type="Account" if shape.object_name != "Account" else "Contact"
        )
    elif kind == "unknown element":
        name = "Sfgw_Undeclared__c"
        target = replace(target, extra_xml=f"<sf:{name}>x</sf:{name}>")
    else:  # more notifications than a message may carry
        padding = tuple(
            Notification(notification_id=sfid.to18(f"04lZZ{n:010d}"), record_id=None)
            for n in range(MAX_NOTIFICATIONS + 1 - len(items))
        )
        return kind, message.with_notifications((*items, *padding)).xml()
    items[index] = target
    return kind, message.with_notifications(tuple(items)).xml()


# -- running ----------------------------------------------------------------------------


class _CheckFailed(AssertionError):
    pass


def _run_property(
    strategy: st.SearchStrategy[Any],
    check: Callable[[Any], Failure | None],
    examples: int,
    seed: int,
) -> Failure | None:
    """Run ``check`` on ``examples`` draws; the failure returned is the shrunk one
    (hypothesis replays the minimal failing example last)."""
    failures: list[Failure] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        print_blob=False,
        # no "explain" phase: it re-runs the shrunk example hundreds of times to say
        # which parts of it matter, which here means hundreds of requests
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    )
    @given(strategy)
    def prop(example: Any) -> None:
        failure = check(example)
        if failure is not None:
            failures.append(failure)
            raise _CheckFailed(failure.reason)

    try:
        prop()
    except _CheckFailed:
        return failures[-1]
    except Exception:
        if failures:  # flaky: the last failure seen is still a real one
            return failures[-1]
        raise
    return None


@dataclass(frozen=True)
class ContractTestOptions:
    examples: int = 50
    seed: int = 0
    #: at most this many notifications in drawn messages (the fixed cases use 100/101)
    max_notifications: int = MAX_NOTIFICATIONS


def run_contract(
    intake: IntakeUnderTest, name: str, options: ContractTestOptions, progress: Progress
) -> ContractOutcome:
    endpoint = intake.endpoints[name]
    bindings = endpoint.bindings
    shape = bindings.shape
    outcome = ContractOutcome(
        contract=name,
        object_label=describe_class(shape.object_name, bindings.object_class),
        fields=len(shape.fields),
        untyped=[spec.name for spec in samples.unsupported_fields(shape)],
    )
    full = samples.full_message(shape, TEST_ORG, MAX_NOTIFICATIONS)
    outcome.failure = check_valid(intake, endpoint, full)
    if outcome.failure is None:
        too_many = samples.full_message(shape, TEST_ORG, MAX_NOTIFICATIONS + 1)
        outcome.failure = check_refused(intake, endpoint, "101 notifications", too_many.xml())
    if outcome.failure is not None:
        return outcome
    progress(f"  {name}: boundaries ok; {options.examples} valid messages ...")

    def valid(message: Message) -> Failure | None:
        outcome.valid += 1
        return check_valid(intake, endpoint, message)

    drawn = samples.messages(shape, TEST_ORG, max_notifications=options.max_notifications)
    outcome.failure = _run_property(drawn, valid, options.examples, options.seed)
    if outcome.failure is not None:
        return outcome
    progress(f"  {name}: {options.examples} mutated messages ...")

    def refused(pair: tuple[str, bytes]) -> Failure | None:
        kind, body = pair
        outcome.mutated[kind] = outcome.mutated.get(kind, 0) + 1
        return check_refused(intake, endpoint, kind, body)

    outcome.failure = _run_property(mutated(drawn), refused, options.examples, options.seed)
    return outcome


def run(
    intake: IntakeUnderTest, contracts: list[str], options: ContractTestOptions, progress: Progress
) -> Iterator[ContractOutcome]:
    for name in contracts:
        progress(f"testing {name} ...")
        yield run_contract(intake, name, options, progress)
