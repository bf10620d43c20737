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

from services.config import Settings, SettingsError
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


@pytest.mark.parametrize("damage", ["server_cert", "server_key", "key_of_another_certificate"])
def test_a_damaged_server_certificate_or_key_is_reissued_by_the_same_ca(settings: Settings, damage: str):
    files = ensure_tls(settings)
    ca_before = files.ca_cert.read_bytes()
    if damage == "key_of_another_certificate":
        other = ensure_tls(Settings.from_env({}, data_dir=Path(str(settings.data_dir) + "-other")))
        files.server_key.write_bytes(other.server_key.read_bytes())
    else:
        getattr(files, damage).write_text("garbage")
    ensure_tls(settings)
    assert files.ca_cert.read_bytes() == ca_before
    server = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    ca = x509.load_pem_x509_certificate(ca_before)
    ca.public_key().verify(server.signature, server.tbs_certificate_bytes, ec.ECDSA(server.signature_hash_algorithm))
    server_ssl_context(files)  # the key is the certificate's


@pytest.mark.parametrize("damage", ["ca_cert", "ca_key", "key_of_another_ca"])
def test_a_damaged_ca_is_refused_in_one_line_and_left_as_it_is(settings: Settings, damage: str):
    files = ensure_tls(settings)
    if damage == "key_of_another_ca":
        other = ensure_tls(Settings.from_env({}, data_dir=Path(str(settings.data_dir) + "-other")))
        files.ca_key.write_bytes(other.ca_key.read_bytes())
    else:
        getattr(files, damage).write_text("garbage")
    before = {p: p.read_bytes() for p in (files.ca_cert, files.ca_key)}
    with pytest.raises(SettingsError, match="move the tls folder away to generate a new CA"):
        ensure_tls(settings)
    assert {p: p.read_bytes() for p in before} == before


def test_custom_host_name_is_in_the_certificate(tmp_path: Path):
    files = ensure_tls(Settings.from_env({}, data_dir=tmp_path, host="openqio.internal"))
    server = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "openqio.internal" in san.get_values_for_type(x509.DNSName)


def test_server_context_loads(settings: Settings):
    context = server_ssl_context(ensure_tls(settings))
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


# ---- beyond 127.0.0.1 (issue 12 §5): names for other machines, your own certificate ------------------------------

def _sans(files) -> tuple[set[str], set[str]]:
    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san.get_values_for_type(x509.DNSName)), {str(a) for a in san.get_values_for_type(x509.IPAddress)}


def test_an_ip_listen_address_is_in_the_certificate(tmp_path: Path):
    dns, ips = _sans(ensure_tls(Settings.from_env({}, data_dir=tmp_path, host="192.0.2.10")))
    assert "192.0.2.10" in ips and {"127.0.0.1", "::1"} <= ips and "localhost" in dns


def test_configured_names_are_covered_and_adding_one_reissues_with_the_same_ca(tmp_path: Path):
    first = ensure_tls(Settings.from_env({}, data_dir=tmp_path))
    ca_before, cert_before = first.ca_cert.read_bytes(), first.server_cert.read_bytes()
    env = {"OPENQIO_TLS_NAMES": "qio.example.com, 198.51.100.7,*.lab.example.com, 2001:db8::5",
           "OPENQIO_PUBLIC_URL": "https://quantum.example.org:9443/"}
    files = ensure_tls(Settings.from_env(env, data_dir=tmp_path))
    dns, ips = _sans(files)
    assert {"qio.example.com", "*.lab.example.com", "quantum.example.org", "localhost"} <= dns
    assert {"198.51.100.7", "2001:db8::5", "127.0.0.1"} <= ips
    assert files.ca_cert.read_bytes() == ca_before and files.server_cert.read_bytes() != cert_before
    again = files.server_cert.read_bytes()
    ensure_tls(Settings.from_env(env, data_dir=tmp_path))  # nothing new to cover: kept
    assert files.server_cert.read_bytes() == again


def test_a_wildcard_listen_address_adds_this_machines_host_name(tmp_path: Path):
    import socket

    from services.gateway.tls import host_names

    names = host_names(Settings.from_env({}, data_dir=tmp_path, host="0.0.0.0"))
    assert names[:3] == ["localhost", "127.0.0.1", "::1"] and "0.0.0.0" not in names
    hostname = socket.gethostname().lower()
    assert hostname in names or not hostname.replace("-", "").replace(".", "").isalnum()


def _own_pki(folder: Path, names=("qio.example.com",), days=30, encrypt=False) -> dict[str, Path]:
    """A private CA and a leaf certificate for `names`, as an organisation's own PKI would issue them."""
    import datetime as dt

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def build(subject, issuer, public, signer, ca: bool, start, end, san=None):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public)
             .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return b.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Corp CA")])
    ca = build(ca_name, ca_name, ca_key.public_key(), ca_key, True, now - dt.timedelta(days=1), now + dt.timedelta(days=365))
    leaf = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]), ca_name, key.public_key(), ca_key,
                 False, now - dt.timedelta(days=1 + max(0, -days)), now + dt.timedelta(days=days),
                 [x509.DNSName(n) for n in names])
    pem = serialization.Encoding.PEM
    encryption = (serialization.BestAvailableEncryption(b"secret") if encrypt else serialization.NoEncryption())
    paths = {"cert": folder / "server.crt", "key": folder / "server.key", "ca": folder / "ca.crt"}
    folder.mkdir(parents=True, exist_ok=True)
    paths["cert"].write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))  # leaf first, then the chain
    paths["key"].write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, encryption))
    paths["ca"].write_bytes(ca.public_bytes(pem))
    return paths


def _own_env(paths: dict[str, Path], **extra: str) -> dict[str, str]:
    return {"OPENQIO_TLS_CERT": str(paths["cert"]), "OPENQIO_TLS_KEY": str(paths["key"]),
            "OPENQIO_TLS_CA": str(paths["ca"]), **extra}


async def test_your_own_certificate_is_served_and_clients_trust_it_through_the_bundle(tmp_path: Path):
    import asyncio

    paths = _own_pki(tmp_path / "pki")
    settings = Settings.from_env(_own_env(paths, OPENQIO_HOST="qio.example.com"), data_dir=tmp_path / "data")
    files = ensure_tls(settings)
    assert (files.server_cert, files.server_key, files.ca_cert, files.ca_key) == (paths["cert"], paths["key"],
                                                                                  paths["ca"], None)
    assert not (settings.tls_dir / "ca.key").exists()  # nothing generated
    assert files.ca_bundle.read_bytes().endswith(paths["ca"].read_bytes())

    async def hello(reader, writer):
        writer.write(b"hello")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(hello, "127.0.0.1", 0, ssl=server_ssl_context(files))
    port = server.sockets[0].getsockname()[1]
    try:
        client = ssl.create_default_context(cafile=str(files.ca_bundle))
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client, server_hostname="qio.example.com")
        assert await reader.read() == b"hello"
        writer.close()
        with pytest.raises(ssl.SSLCertVerificationError):  # a name the certificate does not cover
            await asyncio.open_connection("127.0.0.1", port, ssl=client, server_hostname="other.example.com")
    finally:
        server.close()
        await server.wait_closed()


def test_your_own_certificate_without_a_ca_setting_is_trusted_through_public_cas(tmp_path: Path):
    paths = _own_pki(tmp_path / "pki")
    env = _own_env(paths)
    del env["OPENQIO_TLS_CA"]
    files = ensure_tls(Settings.from_env(env, data_dir=tmp_path / "data"))
    assert files.ca_cert == files.ca_bundle  # clients are pointed at the public CAs (certifi)
    assert files.ca_bundle.read_bytes().rstrip(b"\n") == Path(certifi.where()).read_bytes().rstrip(b"\n")


def test_your_own_certificate_not_covering_a_configured_name_is_a_warning(tmp_path: Path, caplog):
    paths = _own_pki(tmp_path / "pki")
    with caplog.at_level("WARNING", logger="services.gateway.tls"):
        ensure_tls(Settings.from_env(_own_env(paths, OPENQIO_TLS_NAMES="qio.example.com,10.9.8.7"),
                                     data_dir=tmp_path / "data"))
    assert "does not cover localhost, 127.0.0.1, ::1, 10.9.8.7" in caplog.text


@pytest.mark.parametrize("case, match", [
    ("missing", "OPENQIO_TLS_CERT: cannot read"),
    ("not_pem", "must hold PEM certificates"),
    ("other_key", "is not the key of OPENQIO_TLS_CERT"),
    ("encrypted", "is encrypted"),
    ("expired", "is valid only from"),
])
def test_unusable_certificates_are_refused_in_one_line(tmp_path: Path, case, match):
    from services.config import SettingsError

    paths = _own_pki(tmp_path / "pki", encrypt=case == "encrypted", days=-1 if case == "expired" else 30)
    if case == "missing":
        paths["cert"].unlink()
    elif case == "not_pem":
        paths["cert"].write_text("not a certificate")
    elif case == "other_key":
        paths["key"] = _own_pki(tmp_path / "other")["key"]
    with pytest.raises(SettingsError, match=match) as info:
        ensure_tls(Settings.from_env(_own_env(paths), data_dir=tmp_path / "data"))
    assert "\n" not in str(info.value)
