"""Secrets never leave in plaintext; IP allowlist behind proxies; mutual TLS."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devstack.launch import RunningGateway, start_gateway
from gateway.secrets import SecretBox
from tests.intake.conftest import (
    CONTRACT,
    KNOWN_SESSION,
    SECRET_KEY,
    Queues,
    fault_string,
    is_ack,
    post,
)
from tests.intake.messages import ORG, OTHER_ORG, simple_message

SECRET_TAIL = KNOWN_SESSION.split("!", 1)[1]


def test_session_ids_are_encrypted_and_never_logged(
    gateway: RunningGateway, empty_queues: Queues, redis_url: str, module_prefix: str
) -> None:
    url = gateway.outbound_url(CONTRACT)
    assert is_ack(post(url, simple_message(3, start=300, session_id=KNOWN_SESSION).xml()))
    # rejected messages carrying the SessionId, and a garbled one, must not leak it either
    fault_string(post(url, simple_message(1, session_id=KNOWN_SESSION, org=OTHER_ORG).xml()))
    broken = simple_message(1, session_id=KNOWN_SESSION).xml().replace(b"<sf:Amount>", b"<sf:X>")
    fault_string(post(url, broken))
    metrics = requests.get(gateway.url + "/metrics", timeout=10).text

    jobs = empty_queues.jobs()
    assert len(jobs) == 3
    box = SecretBox(SECRET_KEY.encode())
    assert {box.decrypt(j["session_id_encrypted"]) for j in jobs} == {KNOWN_SESSION}
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(f"{module_prefix}:*"):
            dump = client.dump(key) or b""
            assert SECRET_TAIL.encode() not in dump, key
    finally:
        client.close()
    log = gateway.log_path.read_text()
    assert '"outcome": "acked"' in log  # the log is really being captured
    assert SECRET_TAIL not in log
    assert SECRET_TAIL not in metrics


def test_without_a_key_session_ids_are_dropped_not_stored(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    gw = start_gateway(
        tmp_path,
        redis_url=redis_url,
        redis_prefix=redis_prefix,
        workers=1,
        env={"SFGW_ALLOWED_ORGS": ORG, "SFGW_SECRET_KEY": ""},
    )
    queues = Queues(redis.Redis.from_url(redis_url), redis_prefix)
    try:
        body = simple_message(1, session_id=KNOWN_SESSION).xml()
        assert is_ack(post(gw.outbound_url(CONTRACT), body))
        [job] = queues.jobs()
        assert job["session_id_encrypted"] is None
        metrics = requests.get(gw.url + "/metrics", timeout=10).text
        assert "sfgw_intake_session_ids_dropped_total 1.0" in metrics
        assert SECRET_TAIL not in gw.log_path.read_text()
    finally:
        gw.stop()
        queues.clear()
        queues.client.close()


def test_ip_allowlist_honours_forwarded_for_only_from_trusted_proxies(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    gw = start_gateway(
        tmp_path,
        redis_url=redis_url,
        redis_prefix=redis_prefix,
        workers=1,
        env={
            "SFGW_ALLOWED_ORGS": ORG,
            "SFGW_ALLOWED_NETWORKS": "10.0.0.0/8",
            "SFGW_TRUSTED_PROXIES": "127.0.0.1/32",
        },
    )
    url = gw.outbound_url(CONTRACT)
    try:
        # the loopback peer itself is not on the allowlist
        assert "not allowed" in fault_string(post(url, simple_message(1, start=1).xml()))
        # a trusted proxy says the client is 10.1.2.3 (after an untrusted hop it appended)
        ok = post(url, simple_message(1, start=2).xml(), headers={"X-Forwarded-For": "10.1.2.3"})
        assert is_ack(ok)
        spoofed = post(
            url,
            simple_message(1, start=3).xml(),
            headers={"X-Forwarded-For": "10.1.2.3, 198.51.100.7"},
        )
        assert "not allowed" in fault_string(spoofed)
        # health and metrics are for the operator's network, not filtered
        assert requests.get(gw.url + "/healthz", timeout=10).status_code == 200
    finally:
        gw.stop()


# -- mutual TLS -------------------------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _ca(cn: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], cn: str, server: bool
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    usage = (
        x509.oid.ExtendedKeyUsageOID.SERVER_AUTH
        if server
        else (x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH)
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(ca[1], hashes.SHA256()), key


@pytest.fixture
def pki(tmp_path: Path) -> Iterator[Path]:
    ca = _ca("sfgw test CA")
    rogue = _ca("rogue CA")
    _write(tmp_path / "ca", *ca)
    _write(tmp_path / "server", *_leaf(ca, "127.0.0.1", server=True))
    _write(tmp_path / "client", *_leaf(ca, "salesforce client", server=False))
    _write(tmp_path / "rogue", *_leaf(rogue, "salesforce client", server=False))
    yield tmp_path


def test_mutual_tls_requires_a_client_certificate_from_the_ca(
    pki: Path, redis_url: str, redis_prefix: str
) -> None:
    gw = start_gateway(
        pki / "gw",
        redis_url=redis_url,
        redis_prefix=redis_prefix,
        workers=1,
        env={
            "SFGW_ALLOWED_ORGS": ORG,
            "SFGW_TLS_CERT": str(pki / "server.pem"),
            "SFGW_TLS_KEY": str(pki / "server.key"),
            "SFGW_TLS_CLIENT_CA": str(pki / "ca.pem"),
        },
    )
    url = gw.outbound_url(CONTRACT)
    assert url.startswith("https://")
    ca = str(pki / "ca.pem")
    try:
        good = post(
            url,
            simple_message(1).xml(),
            verify=ca,
            cert=(str(pki / "client.pem"), str(pki / "client.key")),
        )
        assert is_ack(good)
        with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
            post(url, simple_message(1).xml(), verify=ca)
        with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
            post(
                url,
                simple_message(1).xml(),
                verify=ca,
                cert=(str(pki / "rogue.pem"), str(pki / "rogue.key")),
            )
    finally:
        gw.stop()
