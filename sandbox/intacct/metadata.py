"""The metadata functions ``lookup`` and ``inspect``, answered from the object definitions.

``lookup`` (``<object>`` or ``<name>``, optional ``<docparid>``) answers
``<data listtype="All" count="1"><Type Name="CUSTOMER" DocumentType=""><Fields><Field>`` with
``ID, LABEL, DESCRIPTION, REQUIRED, READONLY, DATATYPE, [VALIDVALUES], ISCUSTOM`` per field,
then ``<Relationships><Relationship>`` with ``OBJECTPATH, OBJECTNAME, LABEL, RELATIONSHIPTYPE,
RELATEDBY``. ``inspect`` with ``<object>*</object>`` lists every object as
``<Type typename="CUSTOMER">Customer</Type>``; for one object it lists ``<Field>NAME</Field>``
names (``detail="0"``) or, with ``detail="1"``, a ``<Field>`` per field with ``Name,
GroupName, dataName, externalDataName, isRequired, isReadOnly, maxLength, DisplayLabel,
Description, id, relationship``, plus ``validValues`` for enumerations.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement

from sandbox.intacct.definitions import FieldDef, ObjectDef
from sandbox.intacct.errors import bad_request
from sandbox.intacct.objects import DEFINITIONS

__all__ = ["METADATA_HANDLERS", "inspect", "lookup"]

# How long a TEXT field may be when nothing more specific is known (inspect's maxLength).
_TEXT_MAX_LENGTH = "100"
_ID_MAX_LENGTH = "20"


def _text(el: Element, tag: str) -> str:
    found = el.find(tag)
    return (found.text or "").strip() if found is not None and found.text else ""


def _definition(el: Element, function: str) -> ObjectDef:
    name = _text(el, "object") or _text(el, "name")
    if not name:
        raise bad_request(f"Object is required in {function}", "Provide <object> or <name>")
    found = DEFINITIONS.get(name.upper())
    if found is None:
        by_label = {d.label.lower(): d for d in DEFINITIONS.values()}
        found = by_label.get(name.lower())
    if found is None:
        raise bad_request(
            f"Object definition {name} not found",
            "",
            "Check the object name (inspect with <object>*</object> lists the objects)",
        )
    return found


def _add(parent: Element, tag: str, text: str) -> Element:
    child = SubElement(parent, tag)
    child.text = text
    return child


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _lookup_field(parent: Element, f: FieldDef) -> None:
    el = SubElement(parent, "Field")
    _add(el, "ID", f.name)
    _add(el, "LABEL", f.label)
    _add(el, "DESCRIPTION", f.label)
    _add(el, "REQUIRED", _bool(f.required))
    _add(el, "READONLY", _bool(f.readonly))
    _add(el, "DATATYPE", f.datatype)
    values = f.valid_values or (("true", "false") if f.datatype == "BOOLEAN" else ())
    if values:
        box = SubElement(el, "VALIDVALUES")
        for value in values:
            _add(box, "VALIDVALUE", value)
    _add(el, "ISCUSTOM", "false")


def lookup(el: Element) -> list[Element]:
    definition = _definition(el, "lookup")
    data = Element("data", listtype="All", count="1")
    type_el = SubElement(
        data, "Type", Name=definition.name, DocumentType=_text(el, "docparid") or ""
    )
    fields = SubElement(type_el, "Fields")
    for f in definition.fields.values():
        _lookup_field(fields, f)
    relationships = SubElement(type_el, "Relationships")
    for rel in definition.relations:
        r = SubElement(relationships, "Relationship")
        _add(r, "OBJECTPATH", rel.path)
        _add(r, "OBJECTNAME", rel.object)
        _add(r, "LABEL", DEFINITIONS[rel.object].label if rel.object in DEFINITIONS else "")
        _add(r, "RELATIONSHIPTYPE", "MANY2ONE")
        _add(r, "RELATEDBY", rel.related_by)
    return [data]


def _max_length(f: FieldDef) -> str:
    if f.datatype == "TEXT":
        return _ID_MAX_LENGTH if f.name.endswith("ID") else _TEXT_MAX_LENGTH
    if f.datatype == "BOOLEAN":
        return "5"
    if f.datatype in ("DATE", "TIMESTAMP"):
        return "19" if f.datatype == "TIMESTAMP" else "10"
    if f.datatype == "ENUM":
        return str(max((len(v) for v in f.valid_values), default=30))
    return "17"


def _inspect_field(parent: Element, f: FieldDef, position: int) -> None:
    el = SubElement(parent, "Field")
    _add(el, "Name", f.name)
    _add(el, "GroupName", "")
    _add(el, "dataName", f.name)
    _add(el, "externalDataName", f.name)
    _add(el, "isRequired", _bool(f.required))
    _add(el, "isReadOnly", _bool(f.readonly))
    _add(el, "maxLength", _max_length(f))
    _add(el, "DisplayLabel", f.label)
    _add(el, "Description", f.label)
    _add(el, "id", str(position))
    _add(el, "relationship", "")
    _add(el, "dataType", f.datatype)
    if f.valid_values:
        box = SubElement(el, "validValues")
        for value in f.valid_values:
            _add(box, "value", value)


def inspect(el: Element) -> list[Element]:
    detail = (el.get("detail") or "0").strip()
    if detail not in ("0", "1"):
        raise bad_request("Invalid detail", "detail must be 0 or 1")
    if _text(el, "object") == "*":
        data = Element("data", listtype="All", count=str(len(DEFINITIONS)))
        for definition in DEFINITIONS.values():
            _add(data, "Type", definition.label).set("typename", definition.name)
        return [data]
    definition = _definition(el, "inspect")
    data = Element("data", listtype=definition.name, count="1")
    type_el = SubElement(data, "Type", Name=definition.label)
    if detail == "1":
        _add(type_el, "Attributes", "").set("typename", definition.name)
    fields = SubElement(type_el, "Fields")
    for position, f in enumerate(definition.fields.values(), start=1):
        if detail == "1":
            _inspect_field(fields, f, position)
        else:
            _add(fields, "Field", f.name)
    return [data]


def _lookup_handler(store: object, scope: object, el: Element) -> list[Element]:
    return lookup(el)


def _inspect_handler(store: object, scope: object, el: Element) -> list[Element]:
    return inspect(el)


METADATA_HANDLERS = {"lookup": _lookup_handler, "inspect": _inspect_handler}
