"""MI REST v2 and OAuth2 payloads, as small tolerant views holding only what we read."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["MiResponse", "MiResult", "TokenResponse", "mi_response_decoder", "token_decoder"]


class MiResult(msgspec.Struct, kw_only=True):
    transaction: str = ""
    records: list[dict[str, Any]] = []
    errorMessage: str | None = None
    errorCode: str | None = None
    errorField: str | None = None
    errorType: str | None = None


class MiResponse(msgspec.Struct, kw_only=True):
    results: list[MiResult] = []
    wasTerminated: bool = False
    nrOfSuccessfullTransactions: int = 0  # sic: Infor's spelling
    nrOfFailedTransactions: int = 0
    terminationReason: str | None = None
    terminationErrorType: str | None = None
    errorMessage: str | None = None
    errorCode: str | None = None
    errorField: str | None = None
    errorType: str | None = None


class TokenResponse(msgspec.Struct, kw_only=True):
    access_token: str
    expires_in: float = 3600.0
    refresh_token: str | None = None
    token_type: str = "Bearer"  # noqa: S105 - a token kind, not a secret


mi_response_decoder = msgspec.json.Decoder(MiResponse)
token_decoder = msgspec.json.Decoder(TokenResponse)
