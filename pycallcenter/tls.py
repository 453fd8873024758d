"""TLS for the centre's servers (CTI and web pages, SIP over TLS): an SSL context from the configured PEM
files, or a self-signed certificate made at start (for the demo and first installs) with the
``cryptography`` package. In the shared layer, so the engine's SIP trunk and the CTI server use one copy."""
import datetime as _dt
import ipaddress
import os
import socket
import ssl

from pycallcenter.errors import ConfigError


def self_signed(folder, host="127.0.0.1", days=365):
    """Return (cert path, key path) of a self-signed certificate in folder, made now unless a valid one is
    there; the key file is 0600."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    cert_path, key_path = os.path.join(folder, "cti-cert.pem"), os.path.join(folder, "cti-key.pem")
    if os.path.exists(cert_path) and os.path.exists(key_path):
        with open(cert_path, "rb") as f:
            old = x509.load_pem_x509_certificate(f.read())
        if old.not_valid_after_utc > _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(days=7):
            return cert_path, key_path
    os.makedirs(folder, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host or "localhost"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pycallcenter (self-signed)")])
    alt = [x509.DNSName("localhost"), x509.DNSName(socket.gethostname())]
    for h in {host or "127.0.0.1", "127.0.0.1"}:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            alt.append(x509.DNSName(h))
    now = _dt.datetime.now(_dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - _dt.timedelta(minutes=5))
            .not_valid_after(now + _dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.chmod(key_path, 0o600)  # an older file keeps its mode through O_TRUNC
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def server_context(cert, key):
    """Return a server SSLContext (TLS 1.2+) from PEM files; ConfigError naming the file when it cannot."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the certificate and key: {getattr(exc, 'strerror', None) or exc}",
                          path=cert) from None
    return ctx


def is_loopback(host):
    """Return True when host is a loopback address or 'localhost' (plain HTTP is allowed there only)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
