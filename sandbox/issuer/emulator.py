"""A development token issuer, so the demo and tests use real signed JWTs.

- ``GET /.well-known/openid-configuration`` — issuer, ``jwks_uri``, ``token_endpoint``
- ``GET /jwks.json`` — the public signing keys (RS256)
- ``POST /oauth2/token`` — ``grant_type=client_credentials``; client authentication by HTTP
  Basic or ``client_id``/``client_secret`` form fields; optional ``scope`` (a subset of the
  client's). Answers ``{access_token, token_type, expires_in, scope}`` or RFC 6749 errors.
- ``POST /_sandbox/rotate`` — a new signing key (the old one stays published);
  ``POST /_sandbox/faults`` ``{"kind": "status", "status": 503}`` makes every endpoint fail
  (``DELETE`` clears it); ``GET /_sandbox/received``.

Development only: the keys are generated at start-up and the clients are fixed.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar import Litestar, Request, Response, delete, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody

__all__ = [
    "DEMO_API_KEYS",
    "DEMO_AUDIENCE",
    "DEMO_CLIENTS",
    "DEMO_PARTNERS",
    "DemoClient",
    "Fault",
    "TokenIssuer",
]

DEMO_AUDIENCE = "isthmus"
INTERNAL_SCOPES = (
    "quotes:validate", "prices:read", "inventory:read", "credit:read", "process:invoke",
    "orders:submit", "orders:read",
)  # fmt: skip
PORTAL_SCOPES = (
    "accounts:read", "quotes:validate", "prices:read", "inventory:read", "credit:read",
    "orders:submit", "orders:read",
)  # fmt: skip


@dataclass(frozen=True)
class DemoClient:
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    partner_id: str | None = None


DEMO_CLIENTS = (
    DemoClient("salesforce-demo", "demo-salesforce-secret", INTERNAL_SCOPES),
    DemoClient("portal-partner-a", "demo-partner-a-secret", PORTAL_SCOPES, "PARTNER-A"),
    DemoClient("portal-partner-b", "demo-partner-b-secret", PORTAL_SCOPES, "PARTNER-B"),
)

OPS_SCOPES = ("exceptions:view", "exceptions:act", "ops:admin")
"""An operator: the exception queue, the audit log, the console, metrics and cache admin."""

DEMO_API_KEYS = {
    # key -> (client, scopes, partner): documented, for local use only
    "isk_demo_salesforce": ("salesforce-named-credential", INTERNAL_SCOPES, None),
    "isk_demo_ops": ("ops-console", OPS_SCOPES, None),  # the console, /metrics and /ops/v1/*
    "isk_demo_partner_a": ("partner-a-portal", PORTAL_SCOPES, "PARTNER-A"),
}


def _sandbox_account(n: int) -> str:
    # Same ids as sandbox.xref (kept independent of it: only the demo wiring joins the two).
    from sandbox.xref import salesforce_account_id

    return salesforce_account_id(n)


DEMO_PARTNERS = {
    "PARTNER-A": tuple(_sandbox_account(n) for n in range(1, 6)),
    "PARTNER-B": tuple(_sandbox_account(n) for n in range(6, 11)),
}


@dataclass(frozen=True)
class Fault:
    kind: Literal["status", "latency"] = "status"
    status: int = 503
    delay_ms: int = 0


class _FaultIn(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["status", "latency"] = "status"
    status: int = 503
    delay_ms: int = 0
    target: str = "*"


@dataclass(frozen=True)
class Received:
    endpoint: str
    client_id: str | None = None
    grant_type: str | None = None


@dataclass
class _SigningKey:
    kid: str
    private: rsa.RSAPrivateKey
    public_jwk: dict[str, Any] = field(default_factory=dict)


class TokenIssuer:
    def __init__(
        self,
        *,
        public_url: str,
        audience: str = DEMO_AUDIENCE,
        token_ttl_s: int = 900,
        clients: tuple[DemoClient, ...] = DEMO_CLIENTS,
    ) -> None:
        """``token_ttl_s`` defaults to 15 minutes; ``public_url`` is the ``iss`` of tokens."""
        self.public_url = public_url.rstrip("/")
        self.issuer = self.public_url
        self.audience = audience
        self.token_ttl_s = token_ttl_s
        self.clients = {c.client_id: c for c in clients}
        self.received: collections.deque[Received] = collections.deque(maxlen=500)
        self._faults: dict[str, Fault] = {}
        self._keys: list[_SigningKey] = []
        self.rotate()
        self.app = self._build_app()

    @property
    def jwks_url(self) -> str:
        return f"{self.public_url}/jwks.json"

    @property
    def token_url(self) -> str:
        return f"{self.public_url}/oauth2/token"

    # ------------------------------------------------------------ keys and tokens

    def rotate(self) -> str:
        """Start signing with a new key; earlier keys stay in the JWKS. Returns the new kid."""
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
        kid = hashlib.sha256(str(jwk["n"]).encode()).hexdigest()[:16]
        jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
        self._keys.append(_SigningKey(kid=kid, private=private, public_jwk=jwk))
        return kid

    @property
    def current_kid(self) -> str:
        return self._keys[-1].kid

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        return self._keys[-1].private

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk for k in self._keys]}

    def mint(
        self,
        *,
        client_id: str,
        scopes: tuple[str, ...],
        partner_id: str | None = None,
        lifetime_s: int | None = None,
        **overrides: Any,
    ) -> str:
        """A signed access token; ``overrides`` replace or add claims (tests: exp, nbf, aud...)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": client_id,
            "client_id": client_id,
            "scope": " ".join(scopes),
            "iat": now,
            "nbf": now,
            "exp": now + (lifetime_s if lifetime_s is not None else self.token_ttl_s),
            "jti": base64.urlsafe_b64encode(
                hashlib.sha256(f"{client_id}{time.time_ns()}".encode()).digest()[:12]
            ).decode(),
        }
        if partner_id is not None:
            claims["partner_id"] = partner_id
        claims.update(overrides)
        return jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"kid": self.current_kid}
        )

    # ------------------------------------------------------------ faults

    def set_fault(self, name: str, fault: Fault) -> None:
        self._faults[name] = fault

    def clear_faults(self) -> None:
        self._faults.clear()

    async def _apply_fault(self, endpoint: str) -> Response[Any] | None:
        fault = self._faults.get(endpoint) or self._faults.get("*")
        if fault is None:
            return None
        if fault.kind == "latency":
            import asyncio

            await asyncio.sleep(fault.delay_ms / 1000)
            return None
        return Response({"error": "temporarily_unavailable"}, status_code=fault.status)

    # ------------------------------------------------------------ HTTP

    def _build_app(self) -> Litestar:
        issuer = self

        @get("/.well-known/openid-configuration", sync_to_thread=False)
        def discovery() -> dict[str, Any]:
            return {
                "issuer": issuer.issuer,
                "jwks_uri": issuer.jwks_url,
                "token_endpoint": issuer.token_url,
                "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "id_token_signing_alg_values_supported": ["RS256"],
            }

        @get("/jwks.json")
        async def jwks() -> Response[Any]:
            issuer.received.append(Received(endpoint="jwks"))
            failed = await issuer._apply_fault("jwks")
            return failed or Response(issuer.jwks())

        @post("/oauth2/token", status_code=200)
        async def token(
            request: Request[Any, Any, Any],
            data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
        ) -> Response[Any]:
            failed = await issuer._apply_fault("token")
            client_id, secret = _client_auth(request.headers.get("authorization"), data)
            issuer.received.append(
                Received(endpoint="token", client_id=client_id, grant_type=data.get("grant_type"))
            )
            if failed is not None:
                return failed
            if data.get("grant_type") != "client_credentials":
                return _oauth_error("unsupported_grant_type", "Only client_credentials.", 400)
            client = issuer.clients.get(client_id or "")
            if client is None or secret != client.client_secret:
                return _oauth_error("invalid_client", "Unknown client or wrong secret.", 401)
            requested = tuple((data.get("scope") or "").split()) or client.scopes
            if not set(requested) <= set(client.scopes):
                return _oauth_error("invalid_scope", "Scope not granted to this client.", 400)
            access_token = issuer.mint(
                client_id=client.client_id, scopes=requested, partner_id=client.partner_id
            )
            return Response(
                {
                    "access_token": access_token,
                    "token_type": "Bearer",
                    "expires_in": issuer.token_ttl_s,
                    "scope": " ".join(requested),
                },
                headers={"cache-control": "no-store"},
            )

        @post("/_sandbox/rotate", status_code=200, sync_to_thread=False)
        def rotate() -> dict[str, str]:
            return {"kid": issuer.rotate()}

        @post("/_sandbox/faults", status_code=204, sync_to_thread=False)
        def set_fault(data: JSONBody[_FaultIn]) -> None:
            issuer.set_fault(
                data.target, Fault(kind=data.kind, status=data.status, delay_ms=data.delay_ms)
            )

        @delete("/_sandbox/faults", status_code=204, sync_to_thread=False)
        def clear_faults() -> None:
            issuer.clear_faults()

        @get("/_sandbox/received", sync_to_thread=False)
        def received() -> list[dict[str, Any]]:
            return [r.__dict__ for r in issuer.received]

        return Litestar(
            route_handlers=[discovery, jwks, token, rotate, set_fault, clear_faults, received],
            debug=False,
            logging_config=None,
        )


def _client_auth(authorization: str | None, form: dict[str, str]) -> tuple[str | None, str | None]:
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip()).decode("utf-8")
        except ValueError:
            return None, None
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return form.get("client_id"), form.get("client_secret")


def _oauth_error(error: str, description: str, status: int) -> Response[Any]:
    return Response(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"cache-control": "no-store"},
    )
