"""Local TLS material: a private CA, a server certificate for localhost/127.0.0.1/::1, a CA bundle; reused later."""
from __future__ import annotations

import ipaddress
import ssl
import stat
from pathlib import Path

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from services.config import Settings
from services.gateway.tls import ensure_tls, server_ssl_context


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({}, data_dir=tmp_path)


def test_first_run_generates_everything(settings: Settings):
    files = ensure_tls(settings)
    assert files.ca_cert.parent == settings.tls_dir
    for key in (files.ca_key, files.server_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")} <= set(
        san.get_values_for_type(x509.IPAddress))
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    assert server.issuer == ca.subject
    ca.public_key().verify(server.signature, server.tbs_certificate_bytes, ec.ECDSA(server.signature_hash_algorithm))


def test_bundle_is_certifi_plus_our_ca(settings: Settings):
    files = ensure_tls(settings)
    bundle = files.ca_bundle.read_bytes()
    assert bundle.startswith(Path(certifi.where()).read_bytes().rstrip(b"\n"))
    assert bundle.endswith(files.ca_cert.read_bytes())
    context = ssl.create_default_context(cafile=str(files.ca_bundle))
    assert len(context.get_ca_certs()) > 10  # public CAs and ours


def test_later_runs_reuse_the_files(settings: Settings):
    files = ensure_tls(settings)
    before = {p: p.read_bytes() for p in (files.ca_cert, files.ca_key, files.server_cert, files.server_key,
                                          files.ca_bundle)}
    again = ensure_tls(settings)
    assert again == files
    assert {p: p.read_bytes() for p in before} == before


def test_missing_server_certificate_is_reissued_by_the_same_ca(settings: Settings):
    files = ensure_tls(settings)
    ca_before = files.ca_cert.read_bytes()
    files.server_cert.unlink()
    ensure_tls(settings)
    assert files.ca_cert.read_bytes() == ca_before
    server = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    ca = x509.load_pem_x509_certificate(ca_before)
    ca.public_key().verify(server.signature, server.tbs_certificate_bytes, ec.ECDSA(server.signature_hash_algorithm))


def test_custom_host_name_is_in_the_certificate(tmp_path: Path):
    files = ensure_tls(Settings.from_env({}, data_dir=tmp_path, host="openqio.internal"))
    server = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "openqio.internal" in san.get_values_for_type(x509.DNSName)


def test_server_context_loads(settings: Settings):
    context = server_ssl_context(ensure_tls(settings))
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
