"""Does the org bundle say what the contracts say? One line per difference.

The gateway and the org are configured in two places that must agree, and nothing at run
time notices when they do not until Salesforce sends something the contract refuses (a
field added to an outbound message) or the callback writes a field the org lacks. So
``sfgw bindings check`` compares them offline:

- every outbound-message contract has an outbound message that posts to its route, and
  that message sends exactly the contract's fields (the record ``Id`` is always sent);
- every outbound message that posts to a gateway route has a contract of that name;
- the fields the callback writes (``SFGW_ORDER_NUMBER_FIELD``, ``SFGW_ORDER_STATUS_FIELD``)
  are fields of the bundle, and a restricted status picklist holds every status the ERP
  contract can answer with.

Which bundle: ``--bundle DIR``, else ``SFGW_ORG_BUNDLE``, else ``salesforce/`` beside the
contracts directory. A user who sets the org up by clicks has none; that is said in one
line and is not a failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gateway.bindings.shape import read_outbound_shape
from gateway.config import ConfigError, Env
from gateway.contracts import OUTBOUND_ROUTE_PREFIX, outbound_contracts
from gateway.namespaces import XSD
from gateway.org.bundle import OrgBundle, load_bundle
from gateway.salesforce.settings import CallbackFields, callback_fields
from gateway.soap import parse_xml

ORG_BUNDLE_ENV = "SFGW_ORG_BUNDLE"
#: The object the callback writes to (the order pipeline's, ``gateway.routes.ORDER_OBJECT``).
CALLBACK_OBJECT = "Opportunity"
#: The ERP contract and the simple type of the statuses the callback writes.
ERP_CONTRACT = Path("erp") / "erp_orders.wsdl"
ERP_STATUS_TYPE = "OrderStatus"


@dataclass(frozen=True)
class BundleLocation:
    """Where the bundle is looked for; ``explicit`` when the user named it."""

    path: Path
    explicit: bool


def bundle_location(contracts_dir: Path, option: str | None, env: Env) -> BundleLocation:
    if option:
        return BundleLocation(Path(option), explicit=True)
    configured = env.get(ORG_BUNDLE_ENV, "").strip()
    if configured:
        return BundleLocation(Path(configured), explicit=True)
    return BundleLocation(contracts_dir.parent / "salesforce", explicit=False)


def check_location(location: BundleLocation) -> None:
    """A bundle the user named must exist; the default one may be absent."""
    if location.explicit and not location.path.is_dir():
        raise ConfigError(
            f"{ORG_BUNDLE_ENV} / --bundle: {location.path} is not a directory; "
            "point it at your SFDX project (the folder with sfdx-project.json)"
        )


def _contract_lines(bundle: OrgBundle, contracts_dir: Path) -> list[str]:
    lines: list[str] = []
    contracts = outbound_contracts(contracts_dir)
    for contract in contracts:
        shape = read_outbound_shape(contract.path)
        messages = bundle.messages_for_route(contract.name)
        if not messages:
            lines.append(
                f"{contract.name}: no outbound message in the bundle posts to "
                f"{OUTBOUND_ROUTE_PREFIX}{contract.name}"
            )
        wanted = {spec.name for spec in shape.fields}
        for message in messages:
            where = f"outbound message {message.full_name} ({message.source})"
            if message.object != shape.object_name:
                lines.append(
                    f"{contract.name}: {where} is on {message.object}, "
                    f"the contract carries {shape.object_name}"
                )
                continue
            sent = set(message.fields) - {"Id"}
            lines.extend(
                f"{contract.name}: field {name} is in the contract but {where} does not send it"
                for name in sorted(wanted - sent)
            )
            lines.extend(
                f"{contract.name}: {where} sends field {name}, which the contract lacks"
                for name in sorted(sent - wanted)
            )
    names = {contract.name for contract in contracts}
    lines.extend(
        f"outbound message {message.full_name} ({message.source}) posts to "
        f"{OUTBOUND_ROUTE_PREFIX}{message.route}, but contracts/ has no contract {message.route}"
        for message in bundle.outbound_messages
        if message.route is not None and message.route not in names
    )
    return lines


def erp_statuses(contracts_dir: Path) -> tuple[str, ...]:
    """The order statuses the ERP contract allows (what the callback writes), or none when
    the contracts hold no ERP contract."""
    path = contracts_dir / ERP_CONTRACT
    if not path.is_file():
        return ()
    root = parse_xml(path.read_bytes())
    for simple in root.iter(f"{{{XSD}}}simpleType"):
        if simple.get("name") == ERP_STATUS_TYPE:
            return tuple(str(value.get("value")) for value in simple.iter(f"{{{XSD}}}enumeration"))
    return ()


def _callback_lines(bundle: OrgBundle, contracts_dir: Path, fields: CallbackFields) -> list[str]:
    lines: list[str] = []
    for variable, name in (
        ("SFGW_ORDER_NUMBER_FIELD", fields.order_number),
        ("SFGW_ORDER_STATUS_FIELD", fields.order_status),
    ):
        # A standard field is the org's own; only custom ones can be missing from a bundle.
        if name.endswith("__c") and bundle.field(CALLBACK_OBJECT, name) is None:
            lines.append(
                f"{variable}={name} is not a field of {CALLBACK_OBJECT} in the bundle "
                f"(objects/{CALLBACK_OBJECT}/fields/{name}.field-meta.xml)"
            )
    status = bundle.field(CALLBACK_OBJECT, fields.order_status)
    if status is not None and status.restricted:
        lines.extend(
            f"{status.name} is a restricted picklist without the ERP status {value} "
            f"({ERP_CONTRACT}); Salesforce would refuse the callback that writes it"
            for value in erp_statuses(contracts_dir)
            if value not in status.picklist_values
        )
    return lines


@dataclass
class OrgCheck:
    """The outcome of comparing the bundle with the contracts, ready to print."""

    location: BundleLocation
    found: bool
    differences: list[str] = field(default_factory=list)
    load_error: str | None = None

    @property
    def clean(self) -> bool:
        return not self.differences and self.load_error is None


def org_drift(bundle: OrgBundle, contracts_dir: Path, fields: CallbackFields) -> list[str]:
    """Every difference between ``bundle`` and the contracts, one line each."""
    return _contract_lines(bundle, contracts_dir) + _callback_lines(bundle, contracts_dir, fields)


def check_org(location: BundleLocation, contracts_dir: Path, env: Env) -> OrgCheck:
    """Load the bundle at ``location`` and compare it with the contracts and the callback
    fields ``env`` configures; a bundle that does not load is reported as such (its error
    names the file and line), since nothing could be compared."""
    fields = callback_fields(env)
    check_location(location)
    if not location.path.is_dir():
        return OrgCheck(location, found=False)
    try:
        bundle = load_bundle(location.path)
        differences = org_drift(bundle, contracts_dir, fields)
    except ValueError as error:  # BundleError, ContractError, SoapParseError
        return OrgCheck(location, found=True, load_error=str(error))
    return OrgCheck(location, found=True, differences=differences)
