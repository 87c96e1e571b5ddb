"""The transport: simple-salesforce in a small thread pool, with login, re-login and budget.

simple-salesforce is synchronous (``requests``). It runs here off the event loop in a
dedicated pool of ``max_in_flight`` threads, which bounds the calls in flight per org (see
docs/decisions/0002-salesforce-threads.md for why not a transport of our own). Each call:

1. refuses at once with ``SalesforceBudgetError`` (retryable) while the org's remaining daily
   API requests are at or under ``api_reserve`` — except one call per ``budget_recheck_s``,
   which refreshes the figure (Salesforce's 24-hour window moves on);
2. logs in when there is no session yet (JWT bearer or client credentials);
3. on ``INVALID_SESSION_ID`` logs in again, once, and repeats the call once;
4. reads ``Sforce-Limit-Info`` from every response (a ``requests`` response hook) into
   ``usage``;
5. maps every failure to ``system_apis.errors`` (``errors.py``).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession

from system_apis.contract import CallContext
from system_apis.crm import ApiUsage
from system_apis.errors import BackendError, BackendTimeoutError
from system_apis.salesforce.credentials import ClientCredentials, JwtBearer, request_token
from system_apis.salesforce.errors import VENDOR, SalesforceBudgetError, first_error, from_exception

__all__ = ["SalesforceClient"]

T = TypeVar("T")
_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")


class SalesforceClient:
    def __init__(
        self,
        session: requests.Session,
        *,
        login_url: str,
        credentials: JwtBearer | ClientCredentials,
        api_version: str = "62.0",
        timeout_s: float = 30.0,
        max_in_flight: int = 4,
        api_reserve: int = 500,
        budget_recheck_s: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.login_url = login_url.rstrip("/")
        self.credentials = credentials
        self.api_version = api_version
        self.timeout_s = timeout_s
        self.api_reserve = api_reserve
        self.budget_recheck_s = budget_recheck_s
        self._monotonic = monotonic
        self._executor = ThreadPoolExecutor(
            max_workers=max_in_flight, thread_name_prefix="salesforce"
        )
        self._login_lock = threading.Lock()
        self._usage_lock = threading.Lock()
        self._sf: Salesforce | None = None
        self._usage: ApiUsage | None = None
        self._usage_at = 0.0
        self._last_probe = 0.0
        self.logins = 0
        session.hooks["response"].append(self._on_response)

    # -- API budget ---------------------------------------------------------------------------
    @property
    def usage(self) -> ApiUsage | None:
        return self._usage

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        match = _LIMIT_INFO.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            with self._usage_lock:
                self._usage = ApiUsage(
                    used=int(match.group(1)), limit=int(match.group(2)), as_of=datetime.now(UTC)
                )
                self._usage_at = self._monotonic()

    def _check_budget(self) -> None:
        with self._usage_lock:
            usage = self._usage
            if usage is None or usage.remaining > self.api_reserve:
                return
            now = self._monotonic()
            if now - max(self._usage_at, self._last_probe) >= self.budget_recheck_s:
                self._last_probe = now  # this one call goes through and refreshes the figure
                return
        raise SalesforceBudgetError(
            f"Salesforce daily API budget is at its reserve: {usage.used} of {usage.limit} used, "
            f"{self.api_reserve} kept in reserve; calls resume as the org's 24-hour window frees "
            "requests",
            vendor=VENDOR, code="API_RESERVE_REACHED", retry_after=self.budget_recheck_s,
        )  # fmt: skip

    # -- sessions -------------------------------------------------------------------------------
    def _login(self, timeout: float) -> Salesforce:
        token = request_token(self.session, self.login_url, self.credentials, timeout)
        self.logins += 1
        return Salesforce(
            instance_url=token.instance_url, session_id=token.access_token,
            version=self.api_version, session=self.session,
        )  # fmt: skip

    def _current(self, timeout: float) -> Salesforce:
        with self._login_lock:
            if self._sf is None:
                self._sf = self._login(timeout)
            return self._sf

    def _relogin(self, stale: Salesforce, timeout: float) -> Salesforce:
        with self._login_lock:
            if self._sf is stale or self._sf is None:  # another thread may have done it already
                self._sf = self._login(timeout)
            return self._sf

    # -- calls --------------------------------------------------------------------------------
    def _run(self, fn: Callable[[Salesforce, float], T], timeout: float) -> T:
        sf = self._current(timeout)
        try:
            return fn(sf, timeout)
        except SalesforceExpiredSession as exc:
            code, _, _ = first_error(exc.content)
            if code != "INVALID_SESSION_ID":
                raise
        return fn(self._relogin(sf, timeout), timeout)

    async def call(self, ctx: CallContext, fn: Callable[[Salesforce, float], T]) -> T:
        """Run ``fn(salesforce, timeout)`` in the pool, within the call's deadline."""
        self._check_budget()
        timeout = self.timeout_s
        if ctx.deadline is not None:
            timeout = min(timeout, ctx.deadline - time.monotonic())
            if timeout <= 0:
                raise BackendTimeoutError("no time left for the Salesforce call", vendor=VENDOR)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._run, fn, timeout)
        try:
            return await asyncio.wait_for(future, timeout=timeout + 1.0)
        except TimeoutError:
            raise BackendTimeoutError("Salesforce did not answer in time", vendor=VENDOR) from None
        except BackendError:
            raise
        except Exception as exc:  # every vendor and transport failure becomes one of ours
            raise from_exception(exc) from None

    def close(self) -> None:
        """Stop the threads and close the pooled connections."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.session.close()
