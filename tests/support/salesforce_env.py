"""The Salesforce org emulator over real HTTPS, and adapters pointed at it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from sandbox.salesforce import (
    SANDBOX_CONSUMER_KEY,
    SANDBOX_CONSUMER_SECRET,
    SANDBOX_USERNAME,
    SalesforceEmulator,
    SandboxTls,
)
from system_apis.salesforce import (
    ClientCredentials,
    JwtBearer,
    SalesforceAdapter,
    SalesforceClient,
    build_session,
)
from tests.support.servers import free_port, serve

SALESFORCE_SECRETS = (SANDBOX_CONSUMER_SECRET,)


@dataclass(frozen=True)
class OrgEnv:
    org: SalesforceEmulator
    url: str
    ca_file: Path
    key_file: Path

    def session(self) -> requests.Session:
        return build_session(ca_file=str(self.ca_file))

    def jwt(self) -> JwtBearer:
        return JwtBearer(
            consumer_key=SANDBOX_CONSUMER_KEY,
            username=SANDBOX_USERNAME,
            private_key_file=self.key_file,
        )

    def client_credentials(self) -> ClientCredentials:
        return ClientCredentials(
            client_id=SANDBOX_CONSUMER_KEY, client_secret=SANDBOX_CONSUMER_SECRET
        )

    def adapter(
        self, *, credentials: JwtBearer | ClientCredentials | None = None, **client: object
    ) -> SalesforceAdapter:
        sf_client = SalesforceClient(
            self.session(),
            login_url=self.url,
            credentials=credentials or self.jwt(),
            **client,  # type: ignore[arg-type]
        )
        return SalesforceAdapter(sf_client)


@contextmanager
def running_org() -> Iterator[OrgEnv]:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        tls = SandboxTls.create(tmp)
        port = free_port()
        org = SalesforceEmulator(public_url=f"https://127.0.0.1:{port}")
        key_file = org.write_credentials(tmp, ca_file=tls.ca_file)
        url = stack.enter_context(serve(org.app, port=port, tls_pem=str(tls.server_pem)))
        yield OrgEnv(org=org, url=url, ca_file=tls.ca_file, key_file=key_file)
