"""Serve the emulators on their ports, and the demo's view of them (credentials, .ionapi file).

``isthmus sandbox`` runs ``run_sandbox`` in the foreground; ``isthmus demo`` starts it as a
child process with ``SandboxProcess`` and points the gateway at it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
import uvloop

from sandbox.arrival import ArrivalStampingProtocol
from sandbox.ports import PortInUseError, bind_ports

__all__ = ["PortInUseError", "SandboxProcess", "bind_ports", "run_sandbox"]

IONAPI_FILENAME = "sandbox.ionapi"
XREF_FILE = Path(__file__).parent / "data" / "xref.json"


ISSUER_PORT = 8704
SALESFORCE_PORT = 8703


def _build_apps(
    host: str,
    intacct_port: int,
    infor_port: int,
    state_dir: Path,
    issuer_port: int = ISSUER_PORT,
    *,
    infor_requests_per_second: float | None = None,
    intacct_service_ms: float = 0.0,
) -> dict[str, Any]:
    from sandbox.infor import InforEmulator
    from sandbox.intacct import IntacctEmulator
    from sandbox.issuer import TokenIssuer

    intacct = IntacctEmulator(
        public_url=f"http://{host}:{intacct_port}", service_time_s=intacct_service_ms / 1000
    )
    infor = InforEmulator(
        public_url=f"http://{host}:{infor_port}", requests_per_second=infor_requests_per_second
    )
    issuer = TokenIssuer(public_url=f"http://{host}:{issuer_port}")
    state_dir.mkdir(parents=True, exist_ok=True)
    infor.write_ionapi(state_dir / IONAPI_FILENAME)
    return {"intacct": intacct.app, "infor": infor.app, "issuer": issuer.app}


def run_sandbox(
    *,
    host: str,
    intacct_port: int,
    infor_port: int,
    state_dir: Path,
    issuer_port: int = ISSUER_PORT,
    salesforce_port: int = SALESFORCE_PORT,
    infor_requests_per_second: float | None = None,
    intacct_service_ms: float = 0.0,
) -> None:
    """Serve every emulator; ``PortInUseError`` (nothing served) when a port is taken.

    ``infor_requests_per_second``: the ION API spike arrest (429 beyond it); None: no limit.
    ``intacct_service_ms``: how long Intacct takes per request, holding an in-flight slot.
    """
    ports = {
        "intacct": intacct_port, "infor": infor_port, "issuer": issuer_port,
        "salesforce": salesforce_port,
    }  # fmt: skip
    sockets = bind_ports(host, ports)
    apps = _build_apps(
        host, intacct_port, infor_port, state_dir, issuer_port,
        infor_requests_per_second=infor_requests_per_second,
        intacct_service_ms=intacct_service_ms,
    )  # fmt: skip
    servers = {
        name: uvicorn.Server(
            uvicorn.Config(
                app,
                host=host,
                port=ports[name],
                log_level="warning",
                lifespan="off",
                # A delay runs from when a request arrived, not from when its turn came.
                http=ArrivalStampingProtocol,
            )
        )
        for name, app in apps.items()
    }
    servers["salesforce"] = _salesforce_server(host, salesforce_port, state_dir)
    # The seeded data and the servers live as long as the process: kept out of the collector's
    # full passes, which otherwise walked all of it (about 40 ms) every few seconds under load
    # and held every answer due meanwhile, a delayed one past its time.
    gc.freeze()

    async def serve_all() -> None:
        await asyncio.gather(
            *(server.serve(sockets=[sockets[name]]) for name, server in servers.items())
        )

    print(
        f"sandbox: Intacct http://{host}:{intacct_port}/ia/xml/xmlgw.phtml, "
        f"Infor ION http://{host}:{infor_port} (.ionapi: {state_dir / IONAPI_FILENAME}), "
        f"token issuer http://{host}:{issuer_port}/oauth2/token, "
        f"Salesforce https://{host}:{salesforce_port} (credentials: {state_dir}/salesforce.json)",
        file=sys.stderr,
        flush=True,
    )
    # uvloop, as the gateway runs: the emulators' own I/O and timers (every injected delay
    # is one) then cost about half as much, so less of the machine goes to the instrument.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve_all())


def _salesforce_server(host: str, port: int, state_dir: Path) -> uvicorn.Server:
    """The org over HTTPS: a fresh CA and server certificate, and the app's JWT key, in state_dir."""
    from sandbox.salesforce import SalesforceEmulator, SandboxTls

    tls = SandboxTls.create(state_dir)
    org = SalesforceEmulator(public_url=f"https://{host}:{port}")
    org.write_credentials(state_dir, ca_file=tls.ca_file)
    config = uvicorn.Config(
        org.app, host=host, port=port, log_level="warning", lifespan="off",
        ssl_certfile=str(tls.server_pem), ssl_keyfile=str(tls.server_pem),
    )  # fmt: skip
    return uvicorn.Server(config)


def salesforce_environment(host: str, port: int, state_dir: Path) -> dict[str, str]:
    """Settings that point a gateway at the sandbox org (JWT bearer, trusting the sandbox CA)."""
    from sandbox.salesforce import SANDBOX_CONSUMER_KEY, SANDBOX_USERNAME
    from sandbox.salesforce.tls import CA_FILENAME

    url = f"https://{host}:{port}"
    return {
        "ISTHMUS_SALESFORCE__LOGIN_URL": url,
        "ISTHMUS_SALESFORCE__CONSUMER_KEY": SANDBOX_CONSUMER_KEY,
        "ISTHMUS_SALESFORCE__USERNAME": SANDBOX_USERNAME,
        "ISTHMUS_SALESFORCE__PRIVATE_KEY_FILE": str(
            (state_dir / "salesforce-jwt-key.pem").resolve()
        ),
        "ISTHMUS_SALESFORCE__CA_FILE": str((state_dir / CA_FILENAME).resolve()),
    }


def security_environment(host: str, issuer_port: int = ISSUER_PORT) -> dict[str, str]:
    """Settings that make a gateway accept the sandbox issuer's tokens and the demo API keys."""
    from sandbox.issuer import DEMO_API_KEYS, DEMO_AUDIENCE, DEMO_PARTNERS

    issuer_url = f"http://{host}:{issuer_port}"
    api_keys = [
        {
            "client": client,
            "key_sha256": hashlib.sha256(key.encode()).hexdigest(),
            "scopes": list(scopes),
            **({"partner_id": partner} if partner else {}),
        }
        for key, (client, scopes, partner) in DEMO_API_KEYS.items()
    ]
    issuers = [
        {"issuer": issuer_url, "jwks_url": f"{issuer_url}/jwks.json", "audience": DEMO_AUDIENCE}
    ]
    return {
        "ISTHMUS_SECURITY__API_KEYS": json.dumps(api_keys),
        "ISTHMUS_SECURITY__ISSUERS": json.dumps(issuers),
        "ISTHMUS_SECURITY__PARTNERS": json.dumps({k: list(v) for k, v in DEMO_PARTNERS.items()}),
        "ISTHMUS_SECURITY__CORS_ORIGINS": json.dumps(["http://localhost:3000"]),
    }


def gateway_environment(
    host: str,
    intacct_port: int,
    state_dir: Path,
    issuer_port: int = ISSUER_PORT,
    salesforce_port: int = SALESFORCE_PORT,
) -> dict[str, str]:
    """Settings that point a gateway at a running sandbox."""
    from sandbox.intacct import INTACCT_SANDBOX_CREDENTIALS as cred
    from sandbox.intacct.seed import ENTITY_DEFAULT_PRICE_LIST

    return {
        **security_environment(host, issuer_port),
        "ISTHMUS_INTACCT__ENDPOINT_URL": f"http://{host}:{intacct_port}/ia/xml/xmlgw.phtml",
        "ISTHMUS_INTACCT__SENDER_ID": cred.sender_id,
        "ISTHMUS_INTACCT__SENDER_PASSWORD": cred.sender_password,
        "ISTHMUS_INTACCT__USER_ID": cred.user_id,
        "ISTHMUS_INTACCT__COMPANY_ID": cred.company_id,
        "ISTHMUS_INTACCT__USER_PASSWORD": cred.user_password,
        "ISTHMUS_INFOR__IONAPI_FILE": str((state_dir / IONAPI_FILENAME).resolve()),
        "ISTHMUS_XREF_FILE": str(XREF_FILE.resolve()),
        **salesforce_environment(host, salesforce_port, state_dir),
        **{
            f"ISTHMUS_INTACCT__DEFAULT_PRICE_LISTS__{entity}": price_list
            for entity, price_list in ENTITY_DEFAULT_PRICE_LIST.items()
        },
    }


def _wait_for_port(
    host: str, port: int, deadline: float, proc: subprocess.Popen[bytes] | None = None
) -> None:
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"sandbox exited (rc {proc.returncode}); see its error above")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sandbox did not open {host}:{port} in time")


class SandboxProcess:
    """The sandbox in a child process, stopped when the context exits."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        intacct_port: int = 8701,
        infor_port: int = 8702,
        issuer_port: int = ISSUER_PORT,
        salesforce_port: int = SALESFORCE_PORT,
        state_dir: Path,
    ) -> None:
        self.issuer_port = issuer_port
        self.salesforce_port = salesforce_port
        self.host = host
        self.intacct_port = intacct_port
        self.infor_port = infor_port
        self.state_dir = state_dir
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SandboxProcess:
        args = [
            sys.executable, "-m", "sandbox.server",
            "--host", self.host,
            "--intacct-port", str(self.intacct_port),
            "--infor-port", str(self.infor_port),
            "--issuer-port", str(self.issuer_port),
            "--salesforce-port", str(self.salesforce_port),
            "--state-dir", str(self.state_dir),
        ]  # fmt: skip
        self._proc = subprocess.Popen(args, env=os.environ.copy())  # noqa: S603 - our own module
        deadline = time.monotonic() + 20
        for port in (self.intacct_port, self.infor_port, self.issuer_port, self.salesforce_port):
            _wait_for_port(self.host, port, deadline, self._proc)
        return self

    def gateway_environment(self) -> dict[str, str]:
        return gateway_environment(
            self.host, self.intacct_port, self.state_dir, self.issuer_port, self.salesforce_port
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--intacct-port", type=int, default=8701)
    parser.add_argument("--infor-port", type=int, default=8702)
    parser.add_argument("--issuer-port", type=int, default=ISSUER_PORT)
    parser.add_argument("--salesforce-port", type=int, default=SALESFORCE_PORT)
    parser.add_argument("--state-dir", default=".isthmus")
    parser.add_argument(
        "--infor-requests-per-second",
        type=float,
        default=None,
        help="ION API spike arrest: more API calls than this per second are answered 429",
    )
    parser.add_argument(
        "--intacct-service-ms",
        type=float,
        default=0.0,
        help="Intacct's time per request, during which it holds one of the company's slots",
    )
    args = parser.parse_args()
    try:
        run_sandbox(
            host=args.host,
            intacct_port=args.intacct_port,
            infor_port=args.infor_port,
            state_dir=Path(args.state_dir),
            issuer_port=args.issuer_port,
            salesforce_port=args.salesforce_port,
            infor_requests_per_second=args.infor_requests_per_second,
            intacct_service_ms=args.intacct_service_ms,
        )
    except PortInUseError as exc:
        print(f"sandbox: {exc}; choose another with --{exc.name}-port", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    _main()
