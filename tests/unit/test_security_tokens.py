"""Bearer JWT verification: what is refused, and how the JWKS cache behaves under stress."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from app.security.jwks import UNAVAILABLE_RETRY_S
from app.security.tokens import JwtVerifier, TokenRefused
from app.settings import IssuerSetting
from sandbox.issuer import Fault, TokenIssuer
from tests.support.clock import ManualClock

ISSUER_URL = "http://issuer.test"
SCOPES = ("quotes:validate", "credit:read")


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer(public_url=ISSUER_URL)


@pytest.fixture
async def http(issuer: TokenIssuer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=issuer.app)) as client:
        yield client


def _verifier(
    cooldown_s: float = 30.0, ttl_s: float = 600.0, clock: ManualClock | None = None
) -> JwtVerifier:
    setting = IssuerSetting(
        issuer=ISSUER_URL, jwks_url=f"{ISSUER_URL}/jwks.json", audience="isthmus"
    )
    return JwtVerifier(
        [setting],
        skew_s=60,
        jwks_cooldown_s=cooldown_s,
        jwks_ttl_s=ttl_s,
        clock=clock or ManualClock(),
    )


def _token(issuer: TokenIssuer, **claims: Any) -> str:
    return issuer.mint(client_id="sf-org", scopes=SCOPES, partner_id="PARTNER-A", **claims)


async def _refused(verifier: JwtVerifier, token: str, http: httpx.AsyncClient) -> str:
    with pytest.raises(TokenRefused) as refused:
        await verifier.verify(token, http)
    return refused.value.reason


async def test_valid_token_maps_client_scopes_and_partner(
    issuer: TokenIssuer, http: httpx.AsyncClient
) -> None:
    caller = await _verifier().verify(_token(issuer), http)
    assert (caller.client, caller.scopes, caller.partner_id, caller.via) == (
        "sf-org", frozenset(SCOPES), "PARTNER-A", "jwt",
    )  # fmt: skip


def _unsigned(claims: dict[str, Any], kid: str) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    import json

    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    return f"{header}.{b64(json.dumps(claims).encode())}."


async def test_alg_none_is_refused(issuer: TokenIssuer, http: httpx.AsyncClient) -> None:
    claims = jwt.decode(_token(issuer), options={"verify_signature": False})
    reason = await _refused(_verifier(), _unsigned(claims, issuer.current_kid), http)
    assert "algorithm" in reason


async def test_hs256_signed_with_the_public_key_is_refused(
    issuer: TokenIssuer, http: httpx.AsyncClient
) -> None:
    claims = jwt.decode(_token(issuer), options={"verify_signature": False})
    public_pem = issuer.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    # Hand-made: PyJWT itself refuses to HMAC-sign with a PEM public key.
    signing_input = (
        f"{b64(json.dumps({'alg': 'HS256', 'kid': issuer.current_kid}).encode())}."
        f"{b64(json.dumps(claims).encode())}"
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{b64(signature)}"
    assert "algorithm" in await _refused(_verifier(), forged, http)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": -120}, "expired"),
        ({"nbf": 120}, "not valid yet"),
        ({"iat": 120}, "not valid yet"),
        ({"aud": "someone-else"}, "audience"),
        ({"iss": "http://evil.test"}, "issuer"),
    ],
    ids=["expired", "nbf-future", "iat-future", "wrong-aud", "wrong-iss"],
)
async def test_claims_outside_their_bounds_are_refused(
    issuer: TokenIssuer, http: httpx.AsyncClient, claims: dict[str, Any], reason: str
) -> None:
    now = int(time.time())  # time claims are offsets from now, taken when the test runs
    claims = {k: now + v if k in {"exp", "nbf", "iat"} else v for k, v in claims.items()}
    assert reason in await _refused(_verifier(), _token(issuer, **claims), http)


async def test_token_signed_by_an_unpublished_key_is_refused(
    issuer: TokenIssuer, http: httpx.AsyncClient
) -> None:
    other = TokenIssuer(public_url=ISSUER_URL)  # same iss, different private key
    token = jwt.encode(
        jwt.decode(_token(issuer), options={"verify_signature": False}),
        other.private_key,
        algorithm="RS256",
        headers={"kid": issuer.current_kid},
    )
    assert "signature" in await _refused(_verifier(), token, http)


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-55, True), (-65, False)], ids=["inside-60s", "outside-60s"]
)
async def test_clock_skew_is_tolerated_up_to_60_seconds(
    issuer: TokenIssuer, http: httpx.AsyncClient, offset: int, accepted: bool
) -> None:
    now = int(time.time())
    expired_by_skew = _token(issuer, exp=now + offset, iat=now - 300, nbf=now - 300)
    early_by_skew = _token(issuer, nbf=now - offset, iat=now)
    verifier = _verifier()
    for token in (expired_by_skew, early_by_skew):
        if accepted:
            assert (await verifier.verify(token, http)).client == "sf-org"
        else:
            await _refused(verifier, token, http)


async def test_unknown_kid_flood_refetches_the_jwks_at_most_once_per_cooldown(
    issuer: TokenIssuer, http: httpx.AsyncClient
) -> None:
    clock = ManualClock()
    verifier = _verifier(cooldown_s=30, clock=clock)
    await verifier.verify(_token(issuer), http)  # first fetch
    claims = jwt.decode(_token(issuer), options={"verify_signature": False})

    async def flood() -> None:
        for n in range(50):
            bogus = jwt.encode(
                claims, issuer.private_key, algorithm="RS256", headers={"kid": f"k{n}"}
            )
            await _refused(verifier, bogus, http)

    await flood()
    assert sum(1 for r in issuer.received if r.endpoint == "jwks") == 1  # within the cooldown
    clock.advance(29.9)
    await flood()
    assert sum(1 for r in issuer.received if r.endpoint == "jwks") == 1  # still within it
    clock.advance(0.1)
    await flood()
    assert sum(1 for r in issuer.received if r.endpoint == "jwks") == 2  # one refetch for 50


async def test_rotated_key_is_picked_up_by_a_refetch(
    issuer: TokenIssuer, http: httpx.AsyncClient
) -> None:
    verifier = _verifier(cooldown_s=0)
    await verifier.verify(_token(issuer), http)
    issuer.rotate()
    assert (await verifier.verify(_token(issuer), http)).client == "sf-org"


async def test_issuer_down_keeps_the_last_good_keys(
    issuer: TokenIssuer, http: httpx.AsyncClient
) -> None:
    clock = ManualClock()
    verifier = _verifier(cooldown_s=0, ttl_s=600, clock=clock)
    await verifier.verify(_token(issuer), http)
    issuer.set_fault("jwks", Fault(kind="status", status=503))
    clock.advance(600)  # the keys are due for a refresh
    caller = await verifier.verify(_token(issuer), http)
    assert caller.client == "sf-org"
    assert verifier.caches[ISSUER_URL].fetches == 2  # it tried, failed, and kept the keys


async def test_issuer_down_before_any_fetch_is_reported_as_unavailable(
    issuer: TokenIssuer, http: httpx.AsyncClient
) -> None:
    issuer.set_fault("jwks", Fault(kind="status", status=503))
    with pytest.raises(TokenRefused) as refused:
        await _verifier().verify(_token(issuer), http)
    assert refused.value.unavailable


async def test_unknown_issuer_causes_no_fetch(issuer: TokenIssuer, http: httpx.AsyncClient) -> None:
    verifier = _verifier()
    await _refused(verifier, _token(issuer, iss="http://other.test"), http)
    assert verifier.caches[ISSUER_URL].fetches == 0


def _clocked_verifier(clock: ManualClock) -> JwtVerifier:
    setting = IssuerSetting(
        issuer=ISSUER_URL, jwks_url=f"{ISSUER_URL}/jwks.json", audience="isthmus"
    )
    return JwtVerifier([setting], jwks_cooldown_s=30, clock=clock)


async def test_a_cold_start_with_the_issuer_down_refetches_within_the_advertised_retry_after(
    issuer: TokenIssuer, http: httpx.AsyncClient
) -> None:
    clock = ManualClock()
    verifier = _clocked_verifier(clock)
    issuer.set_fault("jwks", Fault(kind="status", status=503))
    with pytest.raises(TokenRefused) as refused:
        await verifier.verify(_token(issuer), http)
    assert refused.value.unavailable

    issuer.clear_faults()  # the issuer is back ...
    clock.advance(UNAVAILABLE_RETRY_S)  # ... and the caller retries when told to

    assert (await verifier.verify(_token(issuer), http)).client == "sf-org"


async def test_a_key_rotated_in_while_the_issuer_is_down_is_unavailable_not_refused(
    issuer: TokenIssuer, http: httpx.AsyncClient
) -> None:
    clock = ManualClock()
    verifier = _clocked_verifier(clock)
    await verifier.verify(_token(issuer), http)  # keys known
    issuer.set_fault("jwks", Fault(kind="status", status=503))
    issuer.rotate()
    clock.advance(30)

    with pytest.raises(TokenRefused) as refused:
        await verifier.verify(_token(issuer), http)
    assert refused.value.unavailable  # 503 + Retry-After: the key may well be genuine

    issuer.clear_faults()
    clock.advance(UNAVAILABLE_RETRY_S)
    assert (await verifier.verify(_token(issuer), http)).client == "sf-org"


async def test_a_made_up_kid_with_the_issuer_up_is_refused(
    issuer: TokenIssuer, http: httpx.AsyncClient
) -> None:
    verifier = _verifier(cooldown_s=0)
    claims = jwt.decode(_token(issuer), options={"verify_signature": False})
    bogus = jwt.encode(claims, issuer.private_key, algorithm="RS256", headers={"kid": "made-up"})
    with pytest.raises(TokenRefused) as refused:
        await verifier.verify(bogus, http)
    assert not refused.value.unavailable


@pytest.mark.parametrize(
    ("claims", "accepted"),
    [
        ({"exp": 3600}, True),
        ({"exp": 86_400}, True),
        ({"exp": 86_400 + 61}, False),
        ({"exp": 253_402_300_799}, False),  # 9999-12-31, an absolute time
        ({"iat": -2 * 86_400, "exp": 60}, False),  # issued for three days
    ],
    ids=["1h", "24h", "24h+skew+1s", "year-9999", "long-from-iat"],
)
async def test_tokens_living_longer_than_the_maximum_are_refused(
    issuer: TokenIssuer, http: httpx.AsyncClient, claims: dict[str, int], accepted: bool
) -> None:
    setting = IssuerSetting(
        issuer=ISSUER_URL, jwks_url=f"{ISSUER_URL}/jwks.json", audience="isthmus"
    )
    verifier = JwtVerifier([setting], max_lifetime_s=86_400)
    now = int(time.time())  # offsets from now, as pyjwt checks exp and iat on the real clock
    timed = {"iat": now, **{k: v if v > 10**10 else now + v for k, v in claims.items()}}
    token = _token(issuer, **timed)
    if accepted:
        assert (await verifier.verify(token, http)).client == "sf-org"
    else:
        assert "lives longer" in await _refused(verifier, token, http)
