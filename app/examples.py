"""Request examples shown in the OpenAPI docs (ids from the sandbox's seed data)."""

from __future__ import annotations

from litestar.openapi.spec import Example

__all__ = ["ATP_EXAMPLE", "CREDIT_EXAMPLE", "PRICE_CHECK_EXAMPLE", "VALIDATE_QUOTE_EXAMPLE"]

PRICE_CHECK_EXAMPLE = Example(
    summary="Two lines for an Infor (US01) customer",
    value={
        "entity": "US01",
        "customerNumber": "US0001",
        "currency": "USD",
        "lines": [
            {"sku": "SKU-0001", "quantity": "10", "uom": "Each"},
            {"sku": "SKU-0002", "quantity": "2", "uom": "Box"},
        ],
    },
)

ATP_EXAMPLE = Example(
    summary="Availability for an Intacct (DE01) line",
    value={
        "entity": "DE01",
        "lines": [
            {"sku": "SKU-0001", "quantity": "24", "uom": "Each", "requestedDate": "2026-12-01"}
        ],
    },
)

CREDIT_EXAMPLE = Example(
    summary="Can this Intacct customer take a 5,000 EUR order?",
    value={
        "entity": "DE01",
        "customerNumber": "CUST-DE-001",
        "amount": "5000.00",
        "currency": "EUR",
    },
)

VALIDATE_QUOTE_EXAMPLE = Example(
    summary="A quote for an Infor customer",
    value={
        "entity": "US01",
        "customerNumber": "US0001",
        "quoteId": "0Q0000000000001",
        "currency": "USD",
        "lines": [
            {"sku": "SKU-0001", "quantity": "10", "uom": "Each", "quotedUnitPrice": "12.50"},
            {"sku": "SKU-0002", "quantity": "1", "uom": "Box", "quotedUnitPrice": "140.00"},
        ],
    },
)
