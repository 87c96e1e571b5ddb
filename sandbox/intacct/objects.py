"""Object definitions the emulator knows: field names and their types, as Intacct lists them.

Field lists follow the vendor's documented objects (see PROTOCOLS.md §1 and
``sandbox/intacct/README.md`` for the UNVERIFIED ones). Types drive how a query compares
values: ``text``, ``number``, ``date`` (``MM/DD/YYYY``), ``datetime`` and ``bool``.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["NAME_FIELDS", "OBJECTS", "FieldType", "field_type"]

FieldType = Literal["text", "number", "date", "datetime", "bool"]


def _fields(spec: str) -> dict[str, FieldType]:
    """``"A B:number C:date"`` → ``{"A": "text", "B": "number", "C": "date"}``."""
    out: dict[str, FieldType] = {}
    for token in spec.split():
        name, _, kind = token.partition(":")
        out[name] = kind or "text"  # type: ignore[assignment]
    return out


_AUDIT = (
    "WHENCREATED:datetime WHENMODIFIED:datetime CREATEDBY MODIFIEDBY MEGAENTITYID MEGAENTITYNAME"
)

OBJECTS: dict[str, dict[str, FieldType]] = {
    "CUSTOMER": _fields(
        "RECORDNO:number CUSTOMERID NAME STATUS TERMNAME CREDITLIMIT:number TOTALDUE:number "
        "ONHOLD:bool CURRENCY CUSTTYPE PARENTID TAXID ONETIME:bool HIDEDISPLAYCONTACT:bool "
        "GLGROUP TERRITORYID CUSTREPID SHIPPINGMETHOD RESALENO DELIVERY_OPTIONS COMMENTS "
        "DISPLAYCONTACT.PRINTAS DISPLAYCONTACT.COMPANYNAME DISPLAYCONTACT.EMAIL1 "
        "PRICESCHEDULE DISCOUNT:number PRICELIST OBJECTRESTRICTION " + _AUDIT
    ),
    "ITEM": _fields(
        "RECORDNO:number ITEMID NAME STATUS ITEMTYPE PRODUCTLINEID GLGROUP BASEPRICE:number "
        "STANDARD_COST:number TAXABLE:bool EXTENDED_DESCRIPTION MRR:bool UOMGRP UOMGRPKEY:number "
        "BASEUOM UOM.INVUOMDETAIL.UNIT UOM.SOUOMDETAIL.UNIT UOM.SOUOMDETAIL.CONVFACTOR:number "
        "UOM.POUOMDETAIL.UNIT UOM.POUOMDETAIL.CONVFACTOR:number IONHAND:number IONORDER:number "
        "IONHOLD:number IALLOCATED:number IRESERVED:number IUNCOMMITTED:number "
        "IINTRANSIT:number " + _AUDIT
    ),
    "UOM": _fields("RECORDNO:number NAME ISSYSTEM:bool INVUOM POUOM OEUOM " + _AUDIT),
    "UOMDETAIL": _fields(
        "RECORDNO:number UNIT ABBREVIATION GRPKEY:number CONVFACTOR:number NUMDECIMALS:number "
        "ISBASE:bool"
    ),
    "SOPRICELIST": _fields(
        "RECORDNO:number NAME DATEFROM:date DATETO:date SALEPURCHASE STATUS " + _AUDIT
    ),
    "SOPRICELISTENTRY": _fields(
        "RECORDNO:number PRICELISTID ITEMID ITEMNAME EMPLOYEEID PRODUCTLINEID DATEFROM:date "
        "DATETO:date QTYLIMITMIN:number QTYLIMITMAX:number VALUE:number VALUETYPE QTY_OR_VALUE "
        "FIXED:bool CURRENCY STATUS " + _AUDIT
    ),
    "WAREHOUSE": _fields(
        "RECORDNO:number WAREHOUSEID NAME LOCATIONID PARENTID STATUS USEDINGL:bool " + _AUDIT
    ),
    "ITEMWAREHOUSEINFO": _fields(
        "RECORDNO:number ITEMID WAREHOUSEID WONHAND:number WONORDER:number WONHOLD:number "
        "WRESERVED:number WALLOCATED:number WINTRANSIT:number AVERAGE_COST:number "
        "LAST_COST:number " + _AUDIT
    ),
    "PODOCUMENTENTRY": _fields(
        "RECORDNO:number DOCHDRID DOCPARID LINE_NO:number ITEMID ITEMNAME WAREHOUSEID "
        "QUANTITY:number QTY_CONVERTED:number UNIT PRICE:number STATE WHENDUE:date " + _AUDIT
    ),
    "SODOCUMENT": _fields(
        "RECORDNO:number DOCNO DOCID DOCPARID STATE CLOSED:bool STATUS PONUMBER CUSTVENDID "
        "CUSTVENDNAME CREATEDFROM WHENDUE:date TERM.NAME CURRENCY SUBTOTAL:number TOTAL:number "
        "MESSAGE " + _AUDIT
    ),
    "SODOCUMENTENTRY": _fields(
        "RECORDNO:number DOCHDRID DOCHDRNO DOCPARID LINE_NO:number ITEMID ITEMNAME QUANTITY:number "
        "UNIT PRICE:number TOTAL:number STATE WAREHOUSEID LOCATIONID DEPARTMENTID CLASSID "
        "PROJECTID MEMO " + _AUDIT
    ),
    "ARINVOICE": _fields(
        "RECORDNO:number RECORDID STATE CUSTOMERID CUSTOMERNAME TERMNAME WHENCREATED:date "
        "WHENDUE:date WHENPAID:date CURRENCY TOTALENTERED:number TOTALPAID:number TOTALDUE:number "
        "WHENMODIFIED:datetime DOCNUMBER MEGAENTITYID MEGAENTITYNAME"
    ),
    "ARPYMT": _fields(
        "RECORDNO:number STATE PAYMENTMETHOD CUSTOMERID CUSTOMERNAME DOCNUMBER RECEIPTDATE:date "
        "WHENPAID:date CURRENCY TOTALENTERED:number TOTALPAID:number " + _AUDIT
    ),
    "LOCATION": _fields("RECORDNO:number LOCATIONID NAME PARENTID STATUS CURRENCY " + _AUDIT),
    "DEPARTMENT": _fields("RECORDNO:number DEPARTMENTID TITLE PARENTID STATUS " + _AUDIT),
    "CLASS": _fields("RECORDNO:number CLASSID NAME PARENTID STATUS " + _AUDIT),
    "PROJECT": _fields("RECORDNO:number PROJECTID NAME CUSTOMERID STATUS " + _AUDIT),
}

NAME_FIELDS: dict[str, str] = {
    "CUSTOMER": "CUSTOMERID",
    "ITEM": "ITEMID",
    "UOM": "NAME",
    "SOPRICELIST": "NAME",
    "WAREHOUSE": "WAREHOUSEID",
    "SODOCUMENT": "DOCID",
    "ARINVOICE": "RECORDID",
    "LOCATION": "LOCATIONID",
    "DEPARTMENT": "DEPARTMENTID",
    "CLASS": "CLASSID",
    "PROJECT": "PROJECTID",
}
"""The field ``readByName`` keys on, per object."""

# Objects whose records belong to one entity (``MEGAENTITYID``); the rest are shared.
ENTITY_OWNED = frozenset(
    {
        "CUSTOMER",
        "SODOCUMENT",
        "SODOCUMENTENTRY",
        "ARINVOICE",
        "ARPYMT",
        "WAREHOUSE",
        "ITEMWAREHOUSEINFO",
        "PODOCUMENTENTRY",
    }
)


def field_type(obj: str, field: str) -> FieldType | None:
    return OBJECTS.get(obj, {}).get(field)
