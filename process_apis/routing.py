"""Routing: which ERP, and which company within it, serves a legal entity / sales org."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from process_apis.errors import BackendNotConfiguredError, UnknownEntityError
from system_apis.contract import CallContext, ErpBackend, Vendor
from system_apis.resilience import Deadline

__all__ = ["EntityRouter", "Route", "RoutedEntity"]


@dataclass(frozen=True)
class Route:
    erp: Vendor
    company: str
    division: str | None
    currency: str


@dataclass(frozen=True)
class RoutedEntity:
    entity: str
    route: Route
    backend: ErpBackend

    def context(self, deadline: Deadline, correlation_id: str | None) -> CallContext:
        return CallContext(
            company=self.route.company,
            division=self.route.division,
            deadline=deadline.at,
            correlation_id=correlation_id,
        )


class EntityRouter:
    def __init__(self, routes: Mapping[str, Route], backends: Mapping[Vendor, ErpBackend]) -> None:
        self._routes = dict(routes)
        self._backends = dict(backends)

    @property
    def entities(self) -> tuple[str, ...]:
        return tuple(sorted(self._routes))

    def resolve(self, entity: str) -> RoutedEntity:
        route = self._routes.get(entity)
        if route is None:
            known = ", ".join(self.entities) or "none configured"
            raise UnknownEntityError(
                f"Unknown legal entity '{entity}'. Known entities: {known}.", pointer="/entity"
            )
        backend = self._backends.get(route.erp)
        if backend is None:
            raise BackendNotConfiguredError(
                f"Entity '{entity}' is served by {route.erp}, which this gateway has no credentials for."
            )
        return RoutedEntity(entity=entity, route=route, backend=backend)
