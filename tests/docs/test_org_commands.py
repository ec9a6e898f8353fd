"""docs/salesforce-setup.md's deploy path: ``sfgw org bundle`` prints what the page shows."""

from __future__ import annotations

from pathlib import Path

from gateway.org.bundle import load_bundle
from tests.docs.extract import REPO
from tests.docs.runner import Docs, executes

ORG_BUNDLE = (
    "sfgw org bundle --gateway-url https://gw.acme.com --contract opportunity_with_fields "
    "--send-as integration@acme.com --target-org acme --out /tmp/acme-org"
)


@executes(ORG_BUNDLE)
def test_the_org_bundle_command_prints_what_the_page_shows(docs: Docs, tmp_path: Path) -> None:
    out = tmp_path / "acme-org"
    printed = docs.run(ORG_BUNDLE, {"/tmp/acme-org": str(out)}).ok()
    shown = printed.replace(str(out), "/tmp/acme-org").strip().splitlines()
    page = (REPO / "docs" / "salesforce-setup.md").read_text().splitlines()
    start = page.index(f"$ {ORG_BUNDLE}") + 1
    assert page[start : start + len(shown)] == shown
    assert page[start + len(shown)] == "```", "the page shows more output than the command prints"
    [message] = load_bundle(out).outbound_messages
    assert message.endpoint_url == "https://gw.acme.com/salesforce/outbound/opportunity_with_fields"
