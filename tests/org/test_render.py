"""``sfgw org bundle``: a deployable copy with the real endpoints, checked as it is
written, and the command and Setup steps that go with it."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.org.bundle import load_bundle
from gateway.org.cli import deploy_command, manual_steps
from gateway.org.errors import BundleError
from gateway.org.render import gateway_base, render_bundle
from tests.org.conftest import ORG, WORKFLOW

SERVED = ("opportunity_id_only", "opportunity_with_fields")
FLOWS = "force-app/main/default/flows"


def differing_files(left: Path, right: Path) -> list[str]:
    """Files whose bytes differ, or that exist on one side only (paths relative)."""
    found: list[str] = []
    names = {p.relative_to(left) for p in left.rglob("*") if p.is_file()}
    names |= {p.relative_to(right) for p in right.rglob("*") if p.is_file()}
    for name in sorted(names):
        a, b = left / name, right / name
        if not (a.is_file() and b.is_file() and filecmp.cmp(a, b, shallow=False)):
            found.append(str(name))
    return found


def test_the_copy_posts_to_the_gateway_and_is_otherwise_the_bundle(tmp_path: Path) -> None:
    out = tmp_path / "org"
    rendered = render_bundle(ORG, out, "https://gw.acme.com/", served=SERVED)
    assert [(m.route, m.endpoint_url) for m in rendered.messages] == [
        (name, f"https://gw.acme.com/salesforce/outbound/{name}") for name in SERVED
    ]
    assert differing_files(ORG / "force-app", out / "force-app") == [
        WORKFLOW.removeprefix("force-app/")
    ]
    assert (out / "sfdx-project.json").read_bytes() == (ORG / "sfdx-project.json").read_bytes()
    assert not (out / "package.json").exists() and not (out / "tools").exists()
    assert load_bundle(out).skipped == ()


def test_one_contract_keeps_its_message_and_its_flow_only(tmp_path: Path) -> None:
    out = tmp_path / "org"
    rendered = render_bundle(
        ORG,
        out,
        "https://gw.acme.com:8443/sfgw",
        served=SERVED,
        contracts=["opportunity_with_fields"],
        send_as="integration@acme.com",
    )
    [message] = rendered.messages
    assert message.endpoint_url == (
        "https://gw.acme.com:8443/sfgw/salesforce/outbound/opportunity_with_fields"
    )
    assert message.integration_user == "integration@acme.com"
    assert rendered.placeholder_users == []
    assert sorted(p.name for p in (out / FLOWS).iterdir()) == [
        "Sfgw_Send_Opportunity_With_Fields.flow-meta.xml"
    ]
    workflow = (out / WORKFLOW).read_text()
    assert "Sfgw_Opportunity_Id_Only" not in workflow
    assert workflow.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Workflow xmlns=')
    assert "\n    <outboundMessages>\n        <fullName>Sfgw_Opportunity_With_Fields" in workflow
    assert workflow.endswith("    </outboundMessages>\n</Workflow>\n")


def test_the_placeholder_user_is_reported(tmp_path: Path) -> None:
    rendered = render_bundle(ORG, tmp_path / "org", "https://gw.acme.com", served=SERVED)
    assert [m.integration_user for m in rendered.placeholder_users] == [
        "integration.user@example.com"
    ] * 2


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://gw.acme.com", "Salesforce requires https"),
        ("gw.acme.com", "Salesforce requires https"),
        ("https://gw.acme.com:80", "port 443 or 1024-65535 only"),
        ("https://gw.acme.com?x=1", "base URL only"),
        ("https://", "base URL only"),
    ],
)
def test_the_gateway_url_must_be_one_salesforce_delivers_to(url: str, message: str) -> None:
    with pytest.raises(BundleError, match=message):
        gateway_base(url)


def test_unknown_contracts_and_used_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="the gateway has no outbound-message contract"):
        render_bundle(ORG, tmp_path / "a", "https://gw", served=SERVED, contracts=["shipment"])
    with pytest.raises(BundleError, match=r"no outbound message in .* posts to"):
        render_bundle(
            ORG, tmp_path / "b", "https://gw", served=[*SERVED, "shipment"], contracts=["shipment"]
        )
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    with pytest.raises(BundleError, match="not an empty folder"):
        render_bundle(ORG, used, "https://gw", served=SERVED)
    assert [p.name for p in used.iterdir()] == ["keep.txt"]


def test_the_printed_deploy_command_runs_inside_the_project(tmp_path: Path) -> None:
    out = tmp_path / "my org"
    rendered = render_bundle(ORG, out, "https://gw.acme.com", served=SERVED)
    assert deploy_command(rendered, out, "acme") == (
        f"cd '{out}' && sf project deploy start --source-dir force-app --target-org acme "
        "--test-level RunSpecifiedTests --tests SfgwOrderServiceTest"
    )
    steps = "\n".join(manual_steps(rendered))
    for needed in ("Sfgw_Integration", "sfgw Gateway", "Run As", "certificate", "February 2026"):
        assert needed in steps


def test_the_command_prints_the_deploy_line_and_the_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "org"
    code = main(
        [
            "org",
            "bundle",
            "--gateway-url",
            "https://gw.acme.com",
            "--contract",
            "opportunity_id_only",
            "--send-as",
            "integration@acme.com",
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert (
        "  Sfgw_Opportunity_Id_Only  https://gw.acme.com/salesforce/outbound/opportunity_id_only"
        in printed
    )
    assert f"  cd {out} && sf project deploy start --source-dir force-app" in printed
    assert "placeholder user" not in printed
    assert "then, in Setup (these cannot be metadata):\n  1. Integration user: create it" in printed


def test_a_plain_http_url_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["org", "bundle", "--gateway-url", "http://gw", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith("sfgw: error: --gateway-url http://gw: Salesforce requires https")
    assert not (tmp_path / "o").exists()
