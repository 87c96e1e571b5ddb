"""The ``.ionapi`` credentials file Infor ION API issues for a backend service account."""

from __future__ import annotations

from pathlib import Path

import msgspec

__all__ = ["IonApiCredentials"]

_SECRET_FIELDS = frozenset({"cs", "saak", "sask"})


class IonApiCredentials(msgspec.Struct, frozen=True, kw_only=True):
    """Fields as Infor names them: ``ti`` tenant, ``ci``/``cs`` client id/secret, ``iu`` ION API
    base URL, ``pu`` SSO base URL (ends in ``/as/``), ``ot``/``or``/``oa`` token, revoke and
    authorization paths, ``saak``/``sask`` the service account's access and secret keys.

    ``repr`` never shows the secrets (``cs``, ``saak``, ``sask``).
    """

    ti: str
    ci: str
    cs: str
    iu: str
    pu: str
    saak: str
    sask: str
    ot: str = "token.oauth2"
    or_: str = msgspec.field(default="revoke_token.oauth2", name="or")
    oa: str = "authorization.oauth2"
    cn: str = ""
    ev: str = ""
    v: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> IonApiCredentials:
        try:
            return msgspec.convert(data, cls)
        except msgspec.ValidationError as exc:
            raise ValueError(f".ionapi credentials are invalid: {exc}") from None

    @classmethod
    def from_file(cls, path: str | Path) -> IonApiCredentials:
        raw = Path(path).read_bytes()
        try:
            data = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise ValueError(f".ionapi file {path} is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f".ionapi file {path} does not hold a JSON object")
        return cls.from_dict(data)

    @property
    def token_url(self) -> str:
        return _join(self.pu, self.ot)

    @property
    def revoke_url(self) -> str:
        return _join(self.pu, self.or_)

    @property
    def api_base(self) -> str:
        """``{iu}/{ti}``: every ION API product lives under it (M3 at ``/M3/m3api-rest``)."""
        return f"{self.iu.rstrip('/')}/{self.ti}"

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={'***' if name in _SECRET_FIELDS else repr(getattr(self, name))}"
            for name in self.__struct_fields__
        )
        return f"IonApiCredentials({shown})"

    __str__ = __repr__


def _join(base: str, path: str) -> str:
    if path.startswith(("http://", "https://")):
        return path
    return f"{base.rstrip('/')}/{path.lstrip('/')}"
