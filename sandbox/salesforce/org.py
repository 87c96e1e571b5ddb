"""The org's data: records per object, the rules Salesforce applies to writes, and queries.

Everything here works on the schema (``schema.py``) and raises ``SfError`` with Salesforce's
error codes; the HTTP layer (``emulator.py``) only shapes requests and responses.
"""

from __future__ import annotations

import copy
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.salesforce.formula import compile_formula
from sandbox.salesforce.ids import IdFactory, is_id, normalize_id
from sandbox.salesforce.schema import NUMBER_TYPES, TEXT_TYPES, FieldDef, ObjectDef, Schema
from sandbox.salesforce.soql import Path, Query, matches, sort_key

__all__ = ["Org", "SfError", "format_datetime", "parse_datetime"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?$"
)


@dataclass
class SfError(Exception):
    """One Salesforce error: ``[{"message", "errorCode", "fields"}]`` on the wire."""

    code: str
    message: str
    fields: tuple[str, ...] = ()
    status: int = 400

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "errorCode": self.code, "fields": list(self.fields)}

    def collection_error(self) -> dict[str, Any]:
        """The shape inside sObject Collections results (``statusCode``, not ``errorCode``)."""
        return {"statusCode": self.code, "message": self.message, "fields": list(self.fields)}


def format_datetime(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime:
    normalized = text.strip().replace(" ", "+").replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", normalized):
        normalized = normalized[:-2] + ":" + normalized[-2:]
    parsed = datetime.fromisoformat(normalized)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _render(value: Any, fdef: FieldDef) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if fdef.type == "int" else float(value)
    return value


class Org:
    """Records of one org. Thread-safe: every public method holds the org's lock."""

    def __init__(self, schema: Schema, clock: Callable[[], datetime]) -> None:
        self.schema = schema
        self.clock = clock
        self.ids = IdFactory()
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in schema.objects}
        self.recycled: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in schema.objects}
        self.locked_ids: set[str] = set()
        self.events: list[dict[str, Any]] = []
        self._auto_numbers: dict[tuple[str, str], int] = {}
        self._rules = {
            name: [(rule, compile_formula(rule.formula)) for rule in obj.rules]
            for name, obj in schema.objects.items()
        }
        self.org_id = self.ids.reserve("00D", 1)
        self.user_id = self.ids.reserve("005", 1)

    # -- snapshots (allOrNone) --------------------------------------------------------------
    def snapshot(self) -> Any:
        with self.lock:
            return copy.deepcopy(
                (self.records, self.recycled, self.events, self._auto_numbers, self.ids._next)
            )

    def restore(self, state: Any) -> None:
        with self.lock:
            self.records, self.recycled, self.events, self._auto_numbers, self.ids._next = state

    # -- lookups ----------------------------------------------------------------------------
    def object_of(self, record_id: str) -> ObjectDef | None:
        return self.schema.by_prefix.get(record_id[:3])

    def get(self, obj: str, record_id: str) -> dict[str, Any] | None:
        full = normalize_id(record_id)
        if full is None:
            return None
        return self.records.get(obj, {}).get(full)

    def is_deleted(self, obj: str, record_id: str) -> bool:
        full = normalize_id(record_id)
        return full is not None and full in self.recycled.get(obj, {})

    def find(self, obj: str, field: str, value: Any) -> list[dict[str, Any]]:
        with self.lock:
            fdef = self.schema.objects[obj].field_ci(field)
            if fdef is None:
                return []
            wanted = value.lower() if isinstance(value, str) else value
            out = []
            for record in self.records[obj].values():
                current = record.get(fdef.name)
                if isinstance(current, str):
                    current = current.lower()
                if current == wanted and current is not None:
                    out.append(record)
            return out

    # -- writes -----------------------------------------------------------------------------
    def create(self, obj: ObjectDef, body: dict[str, Any]) -> str:
        with self.lock:
            if not obj.createable:
                raise SfError(
                    "INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support insert"
                )
            values = self._coerce_body(obj, body, creating=True)
            now = self.clock()
            record: dict[str, Any] = {}
            for fdef in obj.fields.values():
                if fdef.name in values:
                    continue
                if fdef.type == "boolean" and fdef.default_value is not None:
                    record[fdef.name] = bool(fdef.default_value)
                elif fdef.default_picklist is not None:
                    record[fdef.name] = fdef.default_picklist
                else:
                    record[fdef.name] = None
            record.update(values)
            missing = [
                f.name
                for f in obj.fields.values()
                if f.required and record.get(f.name) in (None, "")
            ]
            if missing:
                raise SfError(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    tuple(missing),
                )
            record_id = self.ids.new(obj.key_prefix)
            record["Id"] = record_id
            if obj.is_event:
                record["CreatedDate"] = now
                record["CreatedById"] = self.user_id
                record["EventUuid"] = str(uuid.uuid4())
                record["ReplayId"] = str(len(self.events) + 1)
                self.events.append({"type": obj.name, **record})
                return record_id
            record.update(
                IsDeleted=False, CreatedDate=now, LastModifiedDate=now, SystemModstamp=now,
                CreatedById=self.user_id, LastModifiedById=self.user_id,
            )  # fmt: skip
            if "OwnerId" in obj.fields and record.get("OwnerId") is None:
                record["OwnerId"] = self.user_id
            if "CurrencyIsoCode" in obj.fields and record.get("CurrencyIsoCode") is None:
                record["CurrencyIsoCode"] = "USD"
            if obj.custom and "Name" in obj.fields and not record.get("Name"):
                record["Name"] = record_id  # Salesforce names an unnamed record after its id
            self._derive(obj, record, creating=True)
            self._check(obj, record, old=None)
            self.records[obj.name][record_id] = record
            self._after_write(obj, record)
            return record_id

    def update(self, obj: ObjectDef, record_id: str, body: dict[str, Any]) -> None:
        with self.lock:
            record = self._writable(obj, record_id)
            values = self._coerce_body(obj, body, creating=False)
            for name, value in values.items():
                fdef = obj.fields[name]
                if value in (None, "") and not fdef.nillable:
                    raise SfError(
                        "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]", (name,)
                    )
            old = dict(record)
            candidate = {**record, **values}
            self._derive(obj, candidate, creating=False)
            self._check(obj, candidate, old=old)
            now = self.clock()
            candidate.update(
                LastModifiedDate=now, SystemModstamp=now, LastModifiedById=self.user_id
            )
            record.clear()
            record.update(candidate)
            self._after_write(obj, record)

    def delete(self, obj: ObjectDef, record_id: str) -> None:
        with self.lock:
            if not obj.deletable:
                raise SfError(
                    "INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support delete"
                )
            record = self._writable(obj, record_id)
            self._remove(obj, record)

    def _remove(self, obj: ObjectDef, record: dict[str, Any]) -> None:
        record_id = record["Id"]
        now = self.clock()
        del self.records[obj.name][record_id]
        record.update(IsDeleted=True, SystemModstamp=now, LastModifiedDate=now)
        record["__deleted_at__"] = now
        self.recycled[obj.name][record_id] = record
        for child in self.schema.objects.values():
            for fdef in child.fields.values():
                if obj.name not in fdef.reference_to or fdef.name in ("OwnerId",):
                    continue
                for other in list(self.records[child.name].values()):
                    if other.get(fdef.name) != record_id:
                        continue
                    if fdef.cascade_delete:
                        self._remove(child, other)
                    else:
                        other[fdef.name] = None
                        other["SystemModstamp"] = now
        self._after_write(obj, record)

    def _writable(self, obj: ObjectDef, record_id: str) -> dict[str, Any]:
        full = normalize_id(record_id)
        if full is not None and full in self.recycled[obj.name]:
            raise SfError("ENTITY_IS_DELETED", "entity is deleted", (), 404)
        record = self.records[obj.name].get(full or "")
        if record is None:
            raise SfError("NOT_FOUND", "The requested resource does not exist", (), 404)
        if full in self.locked_ids:
            raise SfError(
                "UNABLE_TO_LOCK_ROW",
                f"unable to obtain exclusive access to this record or 1 records: {full}",
            )
        return record

    # -- field values -----------------------------------------------------------------------
    def _coerce_body(
        self, obj: ObjectDef, body: dict[str, Any], *, creating: bool
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise SfError(
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of sObject from a non-object value",
            )
        values: dict[str, Any] = {}
        for key, raw in body.items():
            if key == "attributes":
                continue
            fdef = obj.field_ci(key)
            if fdef is None:
                rel = obj.relationship_ci(key)
                if rel is not None and isinstance(raw, dict):
                    values[rel.name] = self._resolve_foreign_key(rel, raw)
                    continue
                raise SfError(
                    "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}"
                )
            if fdef.name == "Id":
                if creating:
                    raise SfError(
                        "INVALID_FIELD_FOR_INSERT_UPDATE",
                        "Record ID: cannot specify Id in an insert call", ("Id",),
                    )  # fmt: skip
                continue
            allowed = fdef.createable if creating else fdef.updateable
            if not allowed:
                raise SfError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {fdef.name}. Please check the security "
                    "settings of this field and verify that it is read/write for your profile "
                    "or permission set.",
                    (fdef.name,),
                )
            values[fdef.name] = self.coerce(obj, fdef, raw)
        return values

    def coerce(self, obj: ObjectDef, fdef: FieldDef, raw: Any) -> Any:
        name, ftype = fdef.name, fdef.type
        if raw is None or (raw == "" and ftype not in TEXT_TYPES):
            return None
        if ftype in TEXT_TYPES:
            if isinstance(raw, bool) or not isinstance(raw, str | int | float):
                raise _parser_error(raw, "String")
            text = str(raw)
            if text == "":
                return None
            if (
                ftype == "picklist"
                and fdef.restricted_picklist
                and text not in {v for v, _ in fdef.picklist}
            ):
                raise SfError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{fdef.label}: bad value for restricted picklist field: {text}", (name,),
                )  # fmt: skip
            if fdef.length and len(text) > fdef.length:
                raise SfError(
                    "STRING_TOO_LONG",
                    f"{fdef.label}: data value too large: {text[:80]} (max length={fdef.length})",
                    (name,),
                )
            if ftype == "email" and not _EMAIL.match(text):
                raise SfError(
                    "INVALID_EMAIL_ADDRESS", f"{fdef.label}: invalid email address: {text}", (name,)
                )
            return text
        if ftype == "boolean":
            if not isinstance(raw, bool):
                raise _parser_error(raw, "boolean")
            return raw
        if ftype in NUMBER_TYPES:
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise _parser_error(raw, "double")
            try:
                number = Decimal(str(raw))
            except InvalidOperation:
                raise _parser_error(raw, "double") from None
            if not number.is_finite():
                raise _parser_error(raw, "double")
            if ftype == "int":
                if number != number.to_integral_value():
                    raise _parser_error(raw, "int")
                number = number.to_integral_value()
            whole_digits = (fdef.precision - fdef.scale) if fdef.precision else (fdef.digits or 18)
            if abs(number) >= Decimal(10) ** whole_digits:
                raise SfError(
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    f"{fdef.label}: value outside of valid range on numeric field: {raw}", (name,),
                )  # fmt: skip
            return (
                number.quantize(Decimal(1).scaleb(-fdef.scale))
                if fdef.scale and ftype != "int"
                else number
            )
        if ftype == "date":
            if not isinstance(raw, str):
                raise _parser_error(raw, "Date")
            try:
                return (
                    date.fromisoformat(raw[:10])
                    if len(raw) in (10,)
                    else parse_datetime(raw).date()
                )
            except ValueError:
                raise SfError(
                    "JSON_PARSER_ERROR",
                    f"Cannot deserialize value like Date from string {raw}: "
                    "value not a valid date (valid date format: yyyy-MM-dd)",
                ) from None
        if ftype == "datetime":
            if not isinstance(raw, str) or not _DATETIME.match(raw.strip()):
                raise SfError(
                    "JSON_PARSER_ERROR",
                    f"Cannot deserialize value like DateTime from string {raw}: value not a valid "
                    "datetime (valid datetime format: yyyy-MM-ddTHH:mm:ss.SSS+/-HHmm)",
                )
            try:
                return parse_datetime(raw)
            except ValueError:
                raise _parser_error(raw, "DateTime") from None
        if ftype == "reference":
            return self._reference(fdef, raw)
        raise SfError(
            "INVALID_FIELD_FOR_INSERT_UPDATE", f"Unable to create/update fields: {name}.", (name,)
        )

    def _reference(self, fdef: FieldDef, raw: Any) -> str:
        if not isinstance(raw, str) or not is_id(raw):
            raise SfError(
                "MALFORMED_ID", f"{fdef.label}: id value of incorrect type: {raw}", (fdef.name,)
            )
        full = normalize_id(raw) or raw
        target = self.object_of(full)
        if target is None or target.name not in fdef.reference_to:
            raise SfError(
                "FIELD_INTEGRITY_EXCEPTION", f"{fdef.label}: id value of incorrect type: {raw}",
                (fdef.name,),
            )  # fmt: skip
        if full in self.recycled[target.name]:
            raise SfError("ENTITY_IS_DELETED", "entity is deleted", (fdef.name,))
        if full not in self.records[target.name]:
            raise SfError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", (fdef.name,))
        return full

    def _resolve_foreign_key(self, rel: FieldDef, raw: dict[str, Any]) -> str:
        target = self.schema.objects[rel.reference_to[0]]
        keys = [k for k in raw if k != "attributes"]
        if len(keys) != 1:
            raise SfError(
                "INVALID_FIELD",
                f"Exactly one external ID field is required in a foreign key reference to {target.name}",
            )
        ext = target.field_ci(keys[0])
        if ext is None or not (ext.external_id or ext.id_lookup):
            raise SfError(
                "INVALID_FIELD",
                f"Field {keys[0]} is not an External ID or indexed field for {target.name}",
            )
        value = raw[keys[0]]
        if ext.name == "Id":
            return self._reference(rel, value)
        found = self.find(target.name, ext.name, value)
        if not found:
            raise SfError(
                "INVALID_FIELD",
                f"Foreign key external ID: {value} not found for field {ext.name} in entity {target.name}",
                (rel.name,),
            )
        if len(found) > 1:
            raise SfError(
                "INVALID_FIELD",
                f"Foreign key external ID: {value} found {len(found)} records for field {ext.name} in entity {target.name}",
                (rel.name,),
            )
        return str(found[0]["Id"])

    # -- derived values and rules -------------------------------------------------------------
    def _auto_number(self, obj: str, field: str, width: int, start: int = 1) -> str:
        key = (obj, field)
        value = self._auto_numbers.get(key, start - 1) + 1
        self._auto_numbers[key] = value
        return f"{value:0{width}d}"

    def _derive(self, obj: ObjectDef, record: dict[str, Any], *, creating: bool) -> None:
        name = obj.name
        if name in ("Contact", "User"):
            record["Name"] = " ".join(
                p for p in (record.get("FirstName"), record.get("LastName")) if p
            )
        if name == "Order":
            if creating:
                record["OrderNumber"] = self._auto_number("Order", "OrderNumber", 8, 100)
            record["StatusCode"] = record.get("Status") or "Draft"
            if record.get("Status") == "Activated" and record.get("ActivatedDate") is None:
                record["ActivatedDate"] = self.clock()
                record["ActivatedById"] = self.user_id
            items = [
                i
                for i in self.records["OrderItem"].values()
                if i.get("OrderId") == record.get("Id")
            ]
            record["TotalAmount"] = sum(
                (i["TotalPrice"] or Decimal(0) for i in items), Decimal("0.00")
            )
        if name == "OrderItem":
            if creating:
                record["OrderItemNumber"] = self._auto_number("OrderItem", "OrderItemNumber", 10)
                entry = self.records["PricebookEntry"].get(record.get("PricebookEntryId") or "")
                order = self.records["Order"].get(record.get("OrderId") or "")
                if entry is not None and order is not None:
                    if order.get("Pricebook2Id") != entry.get("Pricebook2Id"):
                        raise SfError(
                            "FIELD_INTEGRITY_EXCEPTION",
                            "field integrity exception: PricebookEntryId (pricebook entry is in a "
                            "different pricebook than the one assigned to the order, or order has no "
                            "pricebook assigned)",
                            ("PricebookEntryId",),
                        )
                    if order.get("Status") == "Activated":
                        raise SfError(
                            "FIELD_INTEGRITY_EXCEPTION",
                            "You can't add products to an activated order.",
                        )
                if entry is not None:
                    record["ListPrice"] = entry.get("UnitPrice")
                    record["Product2Id"] = record.get("Product2Id") or entry.get("Product2Id")
                    if order is not None:
                        record["CurrencyIsoCode"] = order.get("CurrencyIsoCode")
            quantity, price = record.get("Quantity"), record.get("UnitPrice")
            record["TotalPrice"] = (
                (quantity * price).quantize(Decimal("0.01"))
                if quantity is not None and price is not None
                else None
            )
        if name == "PricebookEntry" and creating:
            product = self.records["Product2"].get(record.get("Product2Id") or "")
            if product is not None:
                record["Name"] = product.get("Name")
                record["ProductCode"] = product.get("ProductCode")
        if name == "Quote":
            if creating:
                record["QuoteNumber"] = self._auto_number("Quote", "QuoteNumber", 8)
            opportunity = self.records["Opportunity"].get(record.get("OpportunityId") or "")
            if opportunity is not None:
                record["AccountId"] = opportunity.get("AccountId")
        if name == "Opportunity":
            stage = record.get("StageName")
            record["IsClosed"] = stage in ("Closed Won", "Closed Lost")
            record["IsWon"] = stage == "Closed Won"
            record["ForecastCategory"] = (
                "Closed"
                if stage == "Closed Won"
                else "Omitted"
                if stage == "Closed Lost"
                else "Pipeline"
            )

    def _check(self, obj: ObjectDef, record: dict[str, Any], old: dict[str, Any] | None) -> None:
        for fdef in obj.fields.values():
            if not fdef.unique or record.get(fdef.name) in (None, ""):
                continue
            for other in self.find(obj.name, fdef.name, record[fdef.name]):
                if other["Id"] != record.get("Id"):
                    raise SfError(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {fdef.name} duplicates value on record with id: {other['Id']}",
                    )
        for rule, formula in self._rules.get(obj.name, []):

            def env(name: str, record: dict[str, Any] = record, rule: Any = rule) -> Any:
                if name == "__isnew__":
                    return old is None
                if name.startswith("__old__:"):
                    return (old or {}).get(name.split(":", 1)[1])
                fdef = obj.field_ci(name)
                if fdef is None:
                    raise ValueError(f"rule {rule.name}: no field {name} on {obj.name}")
                return record.get(fdef.name)

            if formula(env):
                raise SfError(
                    "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                    rule.message,
                    (rule.display_field,) if rule.display_field else (),
                )

    def _after_write(self, obj: ObjectDef, record: dict[str, Any]) -> None:
        if obj.name == "OrderItem":
            order = self.records["Order"].get(record.get("OrderId") or "")
            if order is not None:
                self._derive(self.schema.objects["Order"], order, creating=False)

    # -- reads --------------------------------------------------------------------------------
    def render(
        self,
        obj: ObjectDef,
        record: dict[str, Any],
        version: str,
        fields: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attributes": {
                "type": obj.name,
                "url": f"/services/data/v{version}/sobjects/{obj.name}/{record['Id']}",
            }
        }
        names = list(fields) if fields is not None else list(obj.fields)
        for name in names:
            fdef = obj.fields[name]
            if fdef.type == "address":
                out[name] = self._address(fdef.name[: -len("Address")], record)
            else:
                out[name] = _render(record.get(name), fdef)
        return out

    @staticmethod
    def _address(prefix: str, record: dict[str, Any]) -> dict[str, Any] | None:
        parts = {
            "city": record.get(f"{prefix}City"), "country": record.get(f"{prefix}Country"),
            "geocodeAccuracy": record.get(f"{prefix}GeocodeAccuracy"),
            "latitude": record.get(f"{prefix}Latitude"), "longitude": record.get(f"{prefix}Longitude"),
            "postalCode": record.get(f"{prefix}PostalCode"), "state": record.get(f"{prefix}State"),
            "street": record.get(f"{prefix}Street"),
        }  # fmt: skip
        if all(v is None for v in parts.values()):
            return None
        return {k: float(v) if isinstance(v, Decimal) else v for k, v in parts.items()}

    def _parent(self, rel: FieldDef, record: dict[str, Any] | None) -> dict[str, Any] | None:
        if record is None:
            return None
        target = record.get(rel.name)
        if target is None:
            return None
        parent_obj = self.object_of(target)
        if parent_obj is None:
            return None
        return self.records[parent_obj.name].get(target)

    def resolve(self, record: dict[str, Any], path: Path) -> Any:
        current: dict[str, Any] | None = record
        for rel in path.relationships:
            current = self._parent(rel, current)
        if current is None:
            return None
        if path.leaf.type == "address":
            return None
        return current.get(path.leaf.name)

    def run_query(self, query: Query, *, include_deleted: bool) -> list[dict[str, Any]]:
        with self.lock:
            pool = list(self.records[query.obj.name].values())
            if include_deleted:
                pool += list(self.recycled[query.obj.name].values())
            hits = [r for r in pool if matches(query.where, r, self.resolve)]
            if query.order:
                hits.sort(key=sort_key(query.order, self.resolve))
            hits = hits[query.offset :]
            if query.limit is not None:
                hits = hits[: query.limit]
            return hits

    def shape(self, query: Query, record: dict[str, Any], version: str) -> dict[str, Any]:
        """A query result row: selected fields, parents nested under their relationship name."""
        obj = query.obj
        out: dict[str, Any] = {
            "attributes": {
                "type": obj.name,
                "url": f"/services/data/v{version}/sobjects/{obj.name}/{record['Id']}",
            }
        }
        for path in query.fields:
            node = out
            current: dict[str, Any] | None = record
            parent_obj = obj
            broken = False
            for rel in path.relationships:
                current = self._parent(rel, current)
                parent_obj = self.schema.objects[rel.reference_to[0]]
                key = rel.relationship_name or rel.name
                if current is None:
                    node.setdefault(key, None)
                    broken = True
                    break
                child = node.get(key)
                if not isinstance(child, dict):
                    child = {
                        "attributes": {
                            "type": parent_obj.name,
                            "url": f"/services/data/v{version}/sobjects/{parent_obj.name}/{current['Id']}",
                        }
                    }
                    node[key] = child
                node = child
            if broken or current is None:
                continue
            if path.leaf.type == "address":
                node[path.leaf.name] = self._address(path.leaf.name[: -len("Address")], current)
            else:
                node[path.leaf.name] = _render(current.get(path.leaf.name), path.leaf)
        return out


def _parser_error(raw: Any, type_name: str) -> SfError:
    kind = (
        "VALUE_STRING" if isinstance(raw, str)
        else "VALUE_TRUE" if raw is True else "VALUE_FALSE" if raw is False
        else "VALUE_NUMBER_INT" if isinstance(raw, int)
        else "VALUE_NUMBER_FLOAT" if isinstance(raw, float)
        else "START_OBJECT" if isinstance(raw, dict) else "START_ARRAY"
    )  # fmt: skip
    return SfError(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {type_name} from {kind} value {raw} or request may be "
        "missing a required field",
    )
