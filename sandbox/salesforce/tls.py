"""The sandbox's certificate authority and the org's server certificate (``trustme``).

A client trusts the org by trusting the CA file, never by turning verification off.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme

__all__ = ["CA_FILENAME", "SERVER_PEM_FILENAME", "SandboxTls"]

CA_FILENAME = "salesforce-ca.pem"
SERVER_PEM_FILENAME = "salesforce-server.pem"


@dataclass(frozen=True)
class SandboxTls:
    ca_file: Path
    """The CA certificate a client trusts."""
    server_pem: Path
    """Private key + certificate chain for the server (uvicorn's ``ssl_certfile``/``keyfile``)."""

    @classmethod
    def create(
        cls, directory: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
    ) -> SandboxTls:
        directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="Isthmus sandbox CA")
        leaf = ca.issue_cert(*hosts)
        ca_file = directory / CA_FILENAME
        server_pem = directory / SERVER_PEM_FILENAME
        ca.cert_pem.write_to_path(str(ca_file))
        leaf.private_key_and_cert_chain_pem.write_to_path(str(server_pem))
        server_pem.chmod(0o600)
        return cls(ca_file=ca_file, server_pem=server_pem)
