"""``sfgw org bundle``: the org side as one deployable SFDX project.

A thin shell around :func:`gateway.org.render.render_bundle`: it reads the options, writes
the copy and prints what to run next -- the exact ``sf project deploy start`` command and
the few steps Salesforce does not allow as metadata (users, secrets, certificates).
"""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.cli_support import CommandError, Subparsers
from gateway.settings import CoreSettings

if TYPE_CHECKING:
    from gateway.org.render import RenderedBundle

#: Flows are deployed active only where Setup allows it (production needs the preference).
FLOWS_AS_ACTIVE = "Deploy processes and flows as active"


def deploy_command(rendered: RenderedBundle, out: Path, target_org: str | None) -> str:
    """The ``sf`` command that deploys the copy; it runs inside the project folder."""
    bundle = rendered.bundle
    words = ["sf", "project", "deploy", "start"]
    for directory in bundle.project.package_directories:
        words += ["--source-dir", directory.path]
    words += ["--target-org", target_org or "YOUR_ORG_ALIAS"]
    tests = [name for name in bundle.apex_classes if name.endswith("Test")]
    if tests:
        # Production deploys with Apex must run tests; naming ours keeps it to them.
        words += ["--test-level", "RunSpecifiedTests"]
        for test in tests:
            words += ["--tests", test]
    return f"cd {shlex.quote(str(out))} && {shlex.join(words)}"


def manual_steps(rendered: RenderedBundle) -> list[str]:
    """What the bundle cannot do: each a Setup step, in the order to take them."""
    bundle = rendered.bundle
    permission_set = bundle.permission_sets[0].name if bundle.permission_sets else "(yours)"
    app = bundle.external_client_apps[0] if bundle.external_client_apps else None
    app_name = (app.label or app.name) if app else "your External Client App"
    return [
        f"Integration user: create it (Salesforce Integration licence, profile 'Minimum "
        f"Access - API Only Integrations') and assign permission set {permission_set}.",
        f"Consumer key and secret, or certificate: External Client App Manager -> {app_name} "
        "-> Settings -> OAuth: enable the Client Credentials Flow, or upload the certificate "
        "of the gateway's JWT key. Give the gateway SFGW_SF_CLIENT_ID (and "
        "SFGW_SF_CLIENT_SECRET); they never go into source control.",
        "Run As user (client credentials): Policies -> OAuth Policies -> enable Client "
        "Credentials Flow, Run As = the integration user (it needs API Only).",
        f"Production orgs deploy flows inactive unless '{FLOWS_AS_ACTIVE}' is on (Process "
        "Automation Settings); otherwise activate them after the deploy.",
        "Send Session ID stays off: since February 2026 Salesforce sends no SessionId; the "
        "gateway authenticates with the External Client App.",
    ]


def cmd_bundle(args: argparse.Namespace) -> int:
    # Imported here: xsdata and the schema are only needed when the command runs.
    from gateway.contracts import outbound_contracts
    from gateway.org.drift import bundle_location
    from gateway.org.errors import BundleError
    from gateway.org.render import render_bundle

    settings = CoreSettings.from_env()
    source = bundle_location(settings.contracts_dir, args.bundle, os.environ).path
    if not (source / "sfdx-project.json").is_file():
        raise CommandError(
            f"no org bundle at {source}; point --bundle or SFGW_ORG_BUNDLE at the SFDX project"
        )
    out = Path(args.out)
    try:
        rendered = render_bundle(
            source,
            out,
            args.gateway_url,
            served=[c.name for c in outbound_contracts(settings.contracts_dir)],
            contracts=args.contract or (),
            send_as=args.send_as,
        )
    except BundleError as error:
        raise CommandError(str(error)) from None
    print(f"wrote the org bundle to {out}; its outbound messages post to:")
    for message in rendered.messages:
        print(f"  {message.full_name}  {message.endpoint_url}")
    if len(rendered.messages) > 1:
        print("  (each won Opportunity goes to every route above; --contract keeps one)")
    if rendered.placeholder_users:
        print(
            "before deploying: the messages are sent as the placeholder user "
            f"{rendered.placeholder_users[0].integration_user}; rerun with --send-as USERNAME "
            "(a user of your org who can see every Opportunity that will be won)"
        )
    print("deploy it:")
    print(f"  {deploy_command(rendered, out, args.target_org)}")
    print("then, in Setup (these cannot be metadata):")
    for number, step in enumerate(manual_steps(rendered), start=1):
        print(f"  {number}. {step}")
    return 0


def register(subparsers: Subparsers) -> None:
    org = subparsers.add_parser(
        "org",
        help="the Salesforce side as code: write a deployable SFDX bundle",
        description="The org configuration (fields, permission set, outbound messages, "
        "flows, External Client App, Apex) as an SFDX project.",
    )
    sub = org.add_subparsers(dest="org_command", required=True, metavar="COMMAND")
    bundle = sub.add_parser(
        "bundle",
        help="write a deployable copy of salesforce/ for one gateway URL",
        description="Copy the org bundle with every outbound message posting to "
        "https://HOST/salesforce/outbound/<contract>, check the copy, and print the "
        "`sf project deploy start` command and the steps that cannot be metadata.",
    )
    bundle.add_argument("--gateway-url", required=True, metavar="https://HOST")
    bundle.add_argument(
        "--contract",
        action="append",
        metavar="NAME",
        help="keep only this contract's outbound message (repeatable; default: all)",
    )
    bundle.add_argument("--out", required=True, metavar="DIR", help="a new or empty folder")
    bundle.add_argument(
        "--send-as", metavar="USERNAME", help="the user Salesforce sends the messages as"
    )
    bundle.add_argument(
        "--target-org", metavar="ALIAS", help="the org alias to put in the printed command"
    )
    bundle.add_argument(
        "--bundle",
        metavar="DIR",
        help="the SFDX project to copy (default: $SFGW_ORG_BUNDLE, else salesforce/)",
    )
    bundle.set_defaults(handler=cmd_bundle)
