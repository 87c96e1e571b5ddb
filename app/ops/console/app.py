"""The operations console's machinery: templates, the session codec, sign-in checks, CSRF,
and the router that carries the pages and the static files (htmx, CSS) under ``/ops/``.

Server-rendered Jinja templates (autoescaped) with htmx 2 vendored as a static file of this
package: nothing to build, nothing fetched at run time. The pages work without JavaScript;
htmx only refreshes the queue table and the health charts in place.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jinja2
import msgspec
from litestar import Request, Response, Router
from litestar.datastructures import ResponseHeader
from litestar.di import Provide
from litestar.exceptions import PermissionDeniedException
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from app.ops.console.charts import ChartHistory
from app.ops.console.session import COOKIE, Session, SessionCodec
from app.security.scopes import SESSION_AUTH
from app.settings import Settings

__all__ = ["CONSOLE_HEADERS", "Console", "console_router"]

_HERE = Path(__file__).parent
STATIC = _HERE / "static"
HTMX = "htmx-2.0.11.min.js"

CONSOLE_HEADERS = [
    ResponseHeader(
        name="content-security-policy",
        value="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ResponseHeader(name="x-frame-options", value="DENY"),
    ResponseHeader(name="x-content-type-options", value="nosniff"),
    ResponseHeader(name="referrer-policy", value="same-origin"),
]


def _when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return ""
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    if seconds < 0:
        return f"in {_span(-seconds)}"
    return f"{_span(seconds)} ago"


def _span(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _change(before: Any, after: Any) -> str:
    """``status: open → retrying`` for small before/after documents (else compact JSON)."""
    if isinstance(before, dict | None) and isinstance(after, dict | None):
        b, a = before or {}, after or {}
        keys = list(dict.fromkeys([*b, *a]))
        if keys and all(
            not isinstance(v, dict | list) or k == "tags" for k, v in {**b, **a}.items()
        ):
            return "; ".join(
                f"{k}: {_short(b.get(k))} → {_short(a.get(k))}"
                if k in b
                else f"{k}: {_short(a.get(k))}"
                for k in keys
            )
    return f"{_short(before)} → {_short(after)}"


def _short(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= 200 else text[:197] + "…"


def _pretty(value: Any) -> str:
    return msgspec.json.format(msgspec.json.encode(value), indent=2).decode()


@dataclass
class Console:
    settings: Settings
    codec: SessionCodec
    env: jinja2.Environment
    history: ChartHistory = field(default_factory=ChartHistory)

    @classmethod
    def build(cls, settings: Settings) -> Console:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(_HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters.update(when=_when, ago=_ago, pretty=_pretty, urlquote=quote)
        env.globals.update(change=_change)
        env.globals.update(htmx=f"/ops/static/{HTMX}")
        c = settings.console
        return cls(settings=settings, codec=SessionCodec.create(c.session_secret, c.session_ttl_s),
                   env=env)  # fmt: skip

    def page(
        self,
        name: str,
        request: Request[Any, Any, Any],
        session: Session | None,
        status: int = 200,
        **context: Any,
    ) -> Response[str]:
        html = self.env.get_template(name).render(
            session=session,
            path=request.url.path,
            flash=self._flash(request, "done"),
            error=self._flash(request, "error"),
            **context,
        )
        return Response(html, status_code=status, media_type="text/html; charset=utf-8",
                        headers={"cache-control": "no-store"})  # fmt: skip

    def _flash(self, request: Request[Any, Any, Any], kind: str) -> str | None:
        text: str | None = request.query_params.get(kind)
        signature: str = request.query_params.get("sig", "")
        if not text or not hmac.compare_digest(self.codec.flash_signature(kind, text), signature):
            return None
        return text

    def back(
        self, path: str, kind: str, text: str, params: dict[str, str] | None = None
    ) -> Redirect:
        """A 303 to ``path`` that shows ``text`` (``done`` or ``error``) once there."""
        query = {**(params or {}), kind: text, "sig": self.codec.flash_signature(kind, text)}
        return Redirect(f"{path}?{urlencode(query)}", status_code=303)

    def secure(self, request: Request[Any, Any, Any]) -> bool:
        mode = self.settings.console.secure_cookie
        if mode != "auto":
            return mode == "always"
        forwarded = request.headers.get("x-forwarded-proto", "")
        return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"

    def session_of(self, request: Request[Any, Any, Any]) -> Session | None:
        return self.codec.session(request.cookies.get(COOKIE))

    def redirect_to_login(self, request: Request[Any, Any, Any]) -> Redirect:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"/ops/login?next={quote(target, safe='')}", status_code=303)

    @staticmethod
    def check_origin(request: Request[Any, Any, Any]) -> None:
        """A cross-site POST is refused even before the token is looked at."""
        origin = request.headers.get("origin") or request.headers.get("referer")
        if origin and origin != "null":
            host = urlsplit(origin).netloc
            if host and host != request.headers.get("host", ""):
                raise PermissionDeniedException(detail="Cross-site form posts are refused.")

    async def form_for(self, request: Request[Any, Any, Any], session: Session) -> dict[str, str]:
        """The posted form, after the origin and CSRF checks (403 when they fail)."""
        self.check_origin(request)
        form = await request.form()
        token = form.get("csrf_token") or request.headers.get("x-csrf-token") or ""
        if not isinstance(token, str) or not hmac.compare_digest(token, session.csrf):
            raise PermissionDeniedException(
                detail="The form's CSRF token is missing or does not match this session; "
                "reload the page and try again."
            )
        return {k: v for k, v in form.items() if isinstance(v, str)}


def console_router(settings: Settings) -> list[Router]:
    from app.ops.console.pages import ConsolePages

    console = Console.build(settings)

    async def no_json_rule(request: Request[Any, Any, Any]) -> None:
        # The app's before_request insists on JSON bodies: the console posts HTML forms.
        return None

    pages = Router(
        path="/",
        route_handlers=[ConsolePages],
        dependencies={"console": Provide(lambda: console, sync_to_thread=False)},
        opt={SESSION_AUTH: True},
        include_in_schema=False,
        before_request=no_json_rule,
        response_headers=CONSOLE_HEADERS,
    )
    static = create_static_files_router(
        path="/ops/static",
        directories=[STATIC],
        opt={SESSION_AUTH: True},
        include_in_schema=False,
        cache_control=None,
        name="ops-static",
    )
    return [pages, static]
