"""Read the SFDX source project (``salesforce/force-app``) into the org's schema.

The emulator's custom fields, custom objects, platform event and validation rules are the
very files a customer deploys, so what Isthmus ships and what the emulator enforces cannot
drift apart.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET

from sandbox.salesforce.schema import FieldDef, ObjectDef, ValidationRule
from sandbox.salesforce.standard import CURRENCIES, system_fields

__all__ = ["DEFAULT_PROJECT", "apply_metadata"]

_NS = "{http://soap.sforce.com/2006/04/metadata}"
DEFAULT_PROJECT = Path(__file__).resolve().parents[2] / "salesforce"
"""The SFDX project at the repository root."""

_TYPES = {
    "Text": "string",
    "TextArea": "textarea",
    "LongTextArea": "textarea",
    "Checkbox": "boolean",
    "Currency": "currency",
    "Number": "double",
    "Percent": "percent",
    "Date": "date",
    "DateTime": "datetime",
    "Picklist": "picklist",
    "Lookup": "reference",
    "MasterDetail": "reference",
    "Email": "email",
    "Phone": "phone",
    "Url": "url",
}


def _text(node: Element, tag: str, default: str = "") -> str:
    found = node.find(_NS + tag)
    return found.text or default if found is not None else default


def _field(node: Element) -> FieldDef:
    name = _text(node, "fullName")
    kind = _text(node, "type")
    ftype = _TYPES.get(kind)
    if ftype is None:
        raise ValueError(f"field {name}: type {kind} is not supported by the emulator")
    required = _text(node, "required") == "true" or kind == "MasterDetail"
    values: tuple[tuple[str, str], ...] = ()
    default_pick = None
    restricted = False
    value_set = node.find(_NS + "valueSet")
    if value_set is not None:
        restricted = _text(value_set, "restricted") == "true"
        for value in value_set.iter(_NS + "value"):
            api = _text(value, "fullName")
            values = (*values, (api, _text(value, "label", api)))
            if _text(value, "default") == "true":
                default_pick = api
    length = int(_text(node, "length", "0"))
    precision = int(_text(node, "precision", "0"))
    scale = int(_text(node, "scale", "0"))
    if ftype == "picklist":
        length = 255
    if ftype in ("reference",):
        length = 18
    default_raw = _text(node, "defaultValue")
    default: object = None
    if ftype == "boolean":
        default = default_raw == "true"
    reference_to = (_text(node, "referenceTo"),) if ftype == "reference" else ()
    rel = _text(node, "relationshipName")
    return FieldDef(
        name=name,
        type=ftype,
        label=_text(node, "label", name),
        length=length,
        precision=precision,
        scale=scale,
        digits=0,
        nillable=not required and ftype != "boolean",
        required=required,
        defaulted_on_create=ftype == "boolean" or default_pick is not None,
        default_value=default,
        external_id=_text(node, "externalId") == "true",
        unique=_text(node, "unique") == "true",
        id_lookup=_text(node, "externalId") == "true" or _text(node, "unique") == "true",
        custom=True,
        reference_to=reference_to,
        relationship_name=f"{name[:-3]}__r" if ftype == "reference" else None,
        child_relationship=f"{rel}__r" if rel else None,
        cascade_delete=kind == "MasterDetail",
        picklist=values,
        restricted_picklist=restricted,
        default_picklist=default_pick,
    )


def _rule(path: Path) -> ValidationRule:
    root = SafeET.parse(path).getroot()
    display = _text(root, "errorDisplayField") or None
    return ValidationRule(
        name=_text(root, "fullName") or path.name.split(".")[0],
        formula=_text(root, "errorConditionFormula"),
        message=_text(root, "errorMessage"),
        display_field=display,
    )


def _custom_object(folder: Path, prefix: str) -> ObjectDef:
    name = folder.name
    root = SafeET.parse(folder / f"{name}.object-meta.xml").getroot()
    label = _text(root, "label", name)
    plural = _text(root, "pluralLabel", label)
    if name.endswith("__e"):
        fields = [
            FieldDef(name="ReplayId", type="string", label="Replay ID", length=255,
                     createable=False, updateable=False),
            FieldDef(name="CreatedDate", type="datetime", label="Created Date",
                     createable=False, updateable=False, nillable=False, defaulted_on_create=True),
            FieldDef(name="CreatedById", type="reference", label="Created By ID", length=18,
                     reference_to=("User",), relationship_name="CreatedBy", createable=False,
                     updateable=False, nillable=False, defaulted_on_create=True),
            FieldDef(name="EventUuid", type="string", label="Event UUID", length=36,
                     createable=False, updateable=False),
        ]  # fmt: skip
        return ObjectDef(
            name=name, label=label, label_plural=plural, key_prefix=prefix,
            fields={f.name: f for f in fields}, custom=True, updateable=False, deletable=False,
            queryable=False, is_event=True,
        )  # fmt: skip
    name_node = root.find(_NS + "nameField")
    name_label = _text(name_node, "label", "Name") if name_node is not None else "Name"
    auto = name_node is not None and _text(name_node, "type") == "AutoNumber"
    fields = [
        *system_fields(),
        FieldDef(name="Name", type="string", label=name_label, length=80 if not auto else 30,
                 name_field=True, auto_number=auto, createable=not auto, updateable=not auto,
                 defaulted_on_create=True),
        FieldDef(name="LastViewedDate", type="datetime", label="Last Viewed Date",
                 createable=False, updateable=False),
        FieldDef(name="LastReferencedDate", type="datetime", label="Last Referenced Date",
                 createable=False, updateable=False),
    ]  # fmt: skip
    return ObjectDef(
        name=name, label=label, label_plural=plural, key_prefix=prefix,
        fields={f.name: f for f in fields}, custom=True,
    )  # fmt: skip


def apply_metadata(objects: list[ObjectDef], project: Path = DEFAULT_PROJECT) -> list[ObjectDef]:
    """Standard ``objects`` extended with the project's custom objects, fields and rules."""
    base = project / "force-app" / "main" / "default" / "objects"
    if not base.is_dir():
        raise FileNotFoundError(f"no SFDX objects folder at {base}")
    by_name = {o.name: o for o in objects}
    custom_index = 0
    event_index = 0
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        name = folder.name
        if name not in by_name:
            if not name.endswith(("__c", "__e")):
                raise ValueError(f"{folder}: standard object {name} is not emulated")
            if name.endswith("__e"):
                prefix, event_index = f"e0{event_index}", event_index + 1
            else:
                prefix, custom_index = f"a0{custom_index}", custom_index + 1
            by_name[name] = _custom_object(folder, prefix)
        obj = by_name[name]
        for path in sorted((folder / "fields").glob("*.field-meta.xml")):
            definition = _field(SafeET.parse(path).getroot())
            obj.fields[definition.name] = definition
        for path in sorted((folder / "validationRules").glob("*.validationRule-meta.xml")):
            obj.rules.append(_rule(path))
    for obj in by_name.values():
        # In a multi-currency org the currency picklist lists the org's active currencies.
        currency = obj.fields.get("CurrencyIsoCode")
        if currency is not None:
            obj.fields["CurrencyIsoCode"] = replace(currency, picklist=CURRENCIES)
    return list(by_name.values())
