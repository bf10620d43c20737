"""The gateway's TLS material: generated on first run into DATA_DIR/tls/ and reused afterwards, or your own.

Generated:
- `ca.pem` / `ca.key`: a private CA (10 years);
- `server.pem` / `server.key`: the gateway's certificate, signed by that CA, for localhost, 127.0.0.1, ::1, the
  listen address, OPENQIO_PUBLIC_URL's host and OPENQIO_TLS_NAMES (with a wildcard listen address, also this
  machine's host name), so clients on other machines can verify it. It is reissued by the same CA when a name is
  missing (clients that trust ca.pem keep working) or within 30 days of expiry;
- `ca-bundle.pem`: certifi's public CAs plus ours — what REQUESTS_CA_BUNDLE / SSL_CERT_FILE point at, so a
  client trusts openqio and the rest of the world at once.
Keys are written mode 0600. Nothing here is committed: the folder is in .gitignore.

Your own (OPENQIO_TLS_CERT + OPENQIO_TLS_KEY, optionally OPENQIO_TLS_CA): checked at start-up (readable PEM,
unencrypted key that matches, not expired; a name it does not cover is a warning), used as they are;
`ca-bundle.pem` is certifi's CAs plus OPENQIO_TLS_CA, and clients are pointed at it.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.config import SettingsError, write_whole
from services.remote_settings import is_ip, parse_host_names

log = logging.getLogger(__name__)
WILDCARD_HOSTS = ("", "0.0.0.0", "::")
DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path  # what clients trust for the gateway: our CA, OPENQIO_TLS_CA, or the bundle (a public CA)
    ca_key: Path | None  # None for your own certificate
    server_cert: Path
    server_key: Path
    ca_bundle: Path


def _write(path: Path, data: bytes, private: bool = False) -> None:
    write_whole(path, data, 0o600 if private else 0o644)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def host_names(settings) -> list[str]:
    """Every DNS name and IP address the gateway's certificate must cover, each once, in a stable order."""
    names = list(DEFAULT_NAMES)
    if settings.host in WILDCARD_HOSTS:
        hostname = socket.gethostname().lower()  # what other machines on a LAN most often know this one by
        names += [hostname] if _valid_name(hostname) else []
    else:
        names.append(settings.host)
    if settings.public_url:
        names.append(urlsplit(settings.public_url).hostname or "")
    names += parse_host_names(settings.tls_names)
    out: list[str] = []
    for name in filter(None, names):
        key = str(ipaddress.ip_address(name)) if is_ip(name) else name.lower()
        if key not in out:
            out.append(key)
    return out


def _valid_name(name: str) -> bool:
    try:
        return bool(parse_host_names(name))
    except SettingsError:
        return False


def uncovered(cert: x509.Certificate, names: list[str]) -> list[str]:
    """The names in `names` that `cert`'s subject alternative names do not cover (a `*.` name covers one label)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return list(names)
    dns = {n.lower() for n in san.get_values_for_type(x509.DNSName)}
    ips = {str(a) for a in san.get_values_for_type(x509.IPAddress)}
    missing = []
    for name in names:
        if is_ip(name):
            ok = str(ipaddress.ip_address(name)) in ips
        else:
            ok = name in dns or ("." in name and "*." + name.split(".", 1)[1] in dns)
        if not ok:
            missing.append(name)
    return missing


def ensure_tls(settings) -> TlsFiles:
    """Your own certificate (checked), or the generated CA, server certificate and bundle: created when missing,
    the server certificate reissued when a configured name is missing or it is near expiry."""
    folder = Path(settings.tls_dir)
    folder.mkdir(parents=True, exist_ok=True)
    if settings.tls_cert:
        return _own_certificate(settings, folder)
    ca_key_file = folder / "ca.key"
    files = TlsFiles(folder / "ca.pem", ca_key_file, folder / "server.pem", folder / "server.key",
                     folder / "ca-bundle.pem")
    now = dt.datetime.now(dt.UTC)
    ca_key: ec.EllipticCurvePrivateKey
    if files.ca_cert.exists() and ca_key_file.exists():
        try:
            ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
            loaded = serialization.load_pem_private_key(ca_key_file.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:  # damaged, or a key with a password: not what openqio writes
            raise SettingsError(f"{files.ca_cert} or {ca_key_file} cannot be read ({exc}); move the tls folder away "
                                "to generate a new CA (clients must then trust the new one)") from None
        if not isinstance(loaded, ec.EllipticCurvePrivateKey) or not _same_key(loaded.public_key(),
                                                                                 ca_cert.public_key()):
            raise SettingsError(f"{ca_key_file} is not the EC key of {files.ca_cert} openqio generates; move the tls "
                                "folder away to generate a new CA (clients must then trust the new one)")
        ca_key = loaded
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "openqio local CA")])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write(ca_key_file, _key_pem(ca_key), private=True)
        _write(files.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM))
        files.server_cert.unlink(missing_ok=True)

    names = host_names(settings)
    renew = True
    if files.server_cert.exists() and files.server_key.exists():
        try:
            current = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
            server_key = serialization.load_pem_private_key(files.server_key.read_bytes(), password=None)
        except (ValueError, TypeError):  # damaged: issued again by the CA, which is all clients trust
            log.warning("%s or %s cannot be read: issuing the gateway a new certificate", files.server_cert,
                        files.server_key)
        else:
            renew = (current.not_valid_after_utc - now < dt.timedelta(days=30) or bool(uncovered(current, names))
                     or not _same_key(server_key.public_key(), current.public_key()))
    if renew:
        key = ec.generate_private_key(ec.SECP256R1())
        san = x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address(n)) if is_ip(n) else x509.DNSName(n) for n in names])
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "openqio gateway")]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=825))
            .add_extension(san, critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write(files.server_key, _key_pem(key), private=True)
        _write(files.server_cert, cert.public_bytes(serialization.Encoding.PEM))

    _write_bundle(files.ca_bundle, files.ca_cert.read_bytes())
    return files


def _same_key(a: Any, b: Any) -> bool:
    """Whether two public keys (of a private key, of a certificate) are the same key."""
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return bool(a.public_bytes(*spki) == b.public_bytes(*spki))


def _write_bundle(path: Path, extra: bytes) -> None:
    bundle = Path(certifi.where()).read_bytes().rstrip(b"\n") + b"\n" + extra
    if not path.exists() or path.read_bytes() != bundle:
        _write(path, bundle)


def _own_certificate(settings, folder: Path) -> TlsFiles:
    """OPENQIO_TLS_CERT / _KEY / _CA checked so that a mistake is one SettingsError line at start-up, never a
    gateway that fails every handshake (or an OpenSSL password prompt on a service's stdin)."""
    cert_path, key_path = Path(settings.tls_cert), Path(settings.tls_key)
    ca_path = Path(settings.tls_ca) if settings.tls_ca else None
    data = {}
    for variable, path in (("OPENQIO_TLS_CERT", cert_path), ("OPENQIO_TLS_KEY", key_path), ("OPENQIO_TLS_CA", ca_path)):
        if path is not None:
            try:
                data[variable] = path.read_bytes()
            except OSError as exc:
                raise SettingsError(f"{variable}: cannot read {path} ({exc.strerror})") from None
    try:
        chain = x509.load_pem_x509_certificates(data["OPENQIO_TLS_CERT"])
        ca = x509.load_pem_x509_certificates(data["OPENQIO_TLS_CA"]) if ca_path else []
    except ValueError:
        raise SettingsError("OPENQIO_TLS_CERT / OPENQIO_TLS_CA must hold PEM certificates") from None
    try:
        key = serialization.load_pem_private_key(data["OPENQIO_TLS_KEY"], password=None)
    except TypeError:
        raise SettingsError(f"OPENQIO_TLS_KEY {key_path} is encrypted: give the gateway an unencrypted key "
                            "(mode 0600), e.g. `openssl pkey -in encrypted.key -out server.key`") from None
    except ValueError:
        raise SettingsError(f"OPENQIO_TLS_KEY {key_path} is not a PEM private key") from None
    leaf = chain[0]
    if not _same_key(key.public_key(), leaf.public_key()):
        raise SettingsError(f"OPENQIO_TLS_KEY {key_path} is not the key of OPENQIO_TLS_CERT {cert_path} "
                            "(its first certificate must be the gateway's own)")
    now = dt.datetime.now(dt.UTC)
    if leaf.not_valid_after_utc <= now or leaf.not_valid_before_utc > now:
        raise SettingsError(f"OPENQIO_TLS_CERT {cert_path} is valid only from {leaf.not_valid_before_utc:%Y-%m-%d} "
                            f"to {leaf.not_valid_after_utc:%Y-%m-%d}")
    missing = uncovered(leaf, host_names(settings))
    if missing:
        log.warning("OPENQIO_TLS_CERT does not cover %s: clients connecting by those names will refuse it",
                    ", ".join(missing))
    bundle = folder / "ca-bundle.pem"
    _write_bundle(bundle, b"".join(c.public_bytes(serialization.Encoding.PEM) for c in ca))
    return TlsFiles(ca_path or bundle, None, cert_path, key_path, bundle)


def server_ssl_context(files: TlsFiles) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # a callable password: an encrypted key fails here instead of OpenSSL prompting on the service's stdin
    context.load_cert_chain(files.server_cert, files.server_key, password=lambda: b"")
    return context
