"""A development OAuth 2.0 token issuer: JWKS and a client-credentials token endpoint."""

from sandbox.issuer.emulator import (
    DEMO_API_KEYS,
    DEMO_AUDIENCE,
    DEMO_CLIENTS,
    DEMO_PARTNERS,
    DemoClient,
    Fault,
    TokenIssuer,
)

__all__ = [
    "DEMO_API_KEYS",
    "DEMO_AUDIENCE",
    "DEMO_CLIENTS",
    "DEMO_PARTNERS",
    "DemoClient",
    "Fault",
    "TokenIssuer",
]
