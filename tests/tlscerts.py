"""Certificates for tests, made by the ``openssl`` command: a throw-away CA and a server
certificate it signed for 127.0.0.1 (the way a centre issues one for its monitor)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TlsFiles", "make_key", "make_tls_files"]


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    cert: Path
    key: Path


def _openssl(*args: str, cwd: Path) -> None:
    binary = shutil.which("openssl")
    assert binary, "openssl is not installed: apt-get install openssl (bash .ci/run does)"
    done = subprocess.run(
        [binary, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"openssl {' '.join(args)}:\n{done.stderr}"


def make_key(directory: Path, name: str, *, passphrase: str | None = None) -> Path:
    """A P-256 private key in PEM, encrypted with ``passphrase`` if one is given."""
    path = directory / name
    args = ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name]
    if passphrase is not None:
        args += ["-aes-128-cbc", "-pass", f"pass:{passphrase}"]
    _openssl(*args, cwd=directory)
    return path


def make_tls_files(directory: Path, host_ip: str = "127.0.0.1") -> TlsFiles:
    """A CA (ca.crt) and a server certificate (server.crt, server.key) for ``host_ip``."""
    directory.mkdir(parents=True, exist_ok=True)
    make_key(directory, "ca.key")
    _openssl(
        "req", "-x509", "-new", "-key", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/O=trunkwatch tests/CN=test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    make_key(directory, "server.key")
    _openssl(
        "req", "-new", "-key", "server.key", "-out", "server.csr",
        "-subj", f"/O=trunkwatch tests/CN={host_ip}", cwd=directory,
    )  # fmt: skip
    (directory / "server.ext").write_text(
        f"subjectAltName=IP:{host_ip}\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n",
        encoding="ascii",
    )
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "server.ext",
        cwd=directory,
    )  # fmt: skip
    return TlsFiles(directory / "ca.crt", directory / "server.crt", directory / "server.key")
