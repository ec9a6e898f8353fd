"""The conformance suite: the mock org driven by real Salesforce clients, unmodified.

simple-salesforce (REST and OAuth), zeep with the Partner WSDL (SOAP) and the gateway's
own clients talk to ``https://<something>.salesforce.com`` as they would to a real org;
the only change is the ``requests.Session`` they are given, whose transport sends every
https request for a ``*.salesforce.com`` host to the mock org's loopback http address
(:class:`MockOrgTransport`). The org says its instance is
``https://sfgw-conformance.my.salesforce.com`` (``SFGW_MOCKSF_BASE_URL``), so the URLs
the clients build from its answers (``instance_url``, ``nextRecordsUrl``) go through the
same transport.

One org per test module (``org``), on the repository's bundle, with the JWT bearer flow
set up for :data:`USERNAME` and ``https://login.salesforce.com``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from devstack.mocks import RunningSalesforce, start_mock_salesforce
from tests.salesforce.keys import KeyPair, make_keypair

CLIENT_ID = "3MVG9conformance-consumer-key"
CLIENT_SECRET = "conformance-consumer-secret"
USERNAME = "integration@conformance.example"
LOGIN_URL = "https://login.salesforce.com"
#: The My Domain the org answers as (its ``instance_url``).
MY_DOMAIN = "sfgw-conformance.my"
INSTANCE_URL = f"https://{MY_DOMAIN}.salesforce.com"


class MockOrgTransport(HTTPAdapter):
    """Sends https requests for Salesforce hosts to the mock org, everything else as is:
    a real client keeps building real Salesforce URLs."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = urlsplit(target)
        #: (method, path, status) of every request sent to the org, in order.
        self.sent: list[tuple[str, str, int]] = []

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        host = parts.hostname or ""
        if host == "salesforce.com" or host.endswith(".salesforce.com"):
            request.url = urlunsplit(
                (self.target.scheme, self.target.netloc, parts.path, parts.query, parts.fragment)
            )
        response = super().send(request, *args, **kwargs)
        self.sent.append((request.method or "", parts.path, response.status_code))
        return response


def mapped_session(org: RunningSalesforce) -> requests.Session:
    session = requests.Session()
    session.mount("https://", MockOrgTransport(org.url))
    return session


@pytest.fixture(scope="session")
def jwt_keys() -> KeyPair:
    return make_keypair()


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory, jwt_keys: KeyPair) -> Iterator[RunningSalesforce]:
    running = start_mock_salesforce(
        Path(tmp_path_factory.mktemp("conformance")),
        gateway_url=None,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        jwt_cert_pem=jwt_keys.cert_pem,
        username=USERNAME,
        login_url=LOGIN_URL,
        env={"SFGW_MOCKSF_BASE_URL": INSTANCE_URL},
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def session(org: RunningSalesforce) -> Iterator[requests.Session]:
    with mapped_session(org) as mapped:
        yield mapped
