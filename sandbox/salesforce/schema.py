"""The org's schema: objects and fields, and their describe results in Salesforce's shape.

Standard objects come from ``standard.py`` (their documented fields); custom fields, custom
objects and the platform event come from the SFDX metadata in ``salesforce/`` (``metadata.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["FieldDef", "ObjectDef", "Schema", "ValidationRule"]

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "currency": "xsd:double",
    "double": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "address": "urn:address",
}
TEXT_TYPES = frozenset(
    {"string", "textarea", "picklist", "multipicklist", "phone", "url", "email", "combobox"}
)
NUMBER_TYPES = frozenset({"currency", "double", "percent", "int"})


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    label: str
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    required: bool = False
    """Must be given on create (nillable false and no default)."""
    defaulted_on_create: bool = False
    default_value: Any = None
    external_id: bool = False
    unique: bool = False
    id_lookup: bool = False
    name_field: bool = False
    auto_number: bool = False
    calculated: bool = False
    custom: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    child_relationship: str | None = None
    """The name the parent object gives its children through this field (``Contacts``)."""
    cascade_delete: bool = False
    picklist: tuple[tuple[str, str], ...] = ()
    """(value, label) pairs."""
    restricted_picklist: bool = False
    default_picklist: str | None = None
    filterable: bool = True
    sortable: bool = True
    compound_field_name: str | None = None

    def describe(self) -> dict[str, Any]:
        text = self.type in TEXT_TYPES or self.type in ("id", "reference")
        return {
            "aggregatable": self.type not in ("textarea", "address"),
            "aiPredictionField": False,
            "autoNumber": self.auto_number,
            "byteLength": self.length * 3 if text else 0,
            "calculated": self.calculated,
            "calculatedFormula": None,
            "cascadeDelete": self.cascade_delete,
            "caseSensitive": False,
            "compoundFieldName": self.compound_field_name,
            "controllerName": None,
            "createable": self.createable,
            "custom": self.custom,
            "defaultValue": self.default_value
            if self.type == "boolean" or self.default_value is not None
            else None,
            "defaultValueFormula": None,
            "defaultedOnCreate": self.defaulted_on_create,
            "dependentPicklist": False,
            "deprecatedAndHidden": False,
            "digits": self.digits,
            "displayLocationInDecimal": False,
            "encrypted": False,
            "externalId": self.external_id,
            "extraTypeInfo": None,
            "filterable": self.filterable and self.type != "textarea",
            "filteredLookupInfo": None,
            "formulaTreatNullNumberAsZero": False,
            "groupable": self.type not in ("textarea", "double", "currency", "percent", "address"),
            "highScaleNumber": False,
            "htmlFormatted": False,
            "idLookup": self.id_lookup,
            "inlineHelpText": None,
            "label": self.label,
            "length": self.length,
            "mask": None,
            "maskType": None,
            "name": self.name,
            "nameField": self.name_field,
            "namePointing": len(self.reference_to) > 1,
            "nillable": self.nillable,
            "permissionable": self.nillable and not self.calculated and self.name != "Id",
            "picklistValues": [
                {
                    "active": True,
                    "defaultValue": value == self.default_picklist,
                    "label": label,
                    "validFor": None,
                    "value": value,
                }
                for value, label in self.picklist
            ],
            "polymorphicForeignKey": len(self.reference_to) > 1,
            "precision": self.precision,
            "queryByDistance": False,
            "referenceTargetField": None,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "relationshipOrder": None,
            "restrictedDelete": False,
            "restrictedPicklist": self.restricted_picklist,
            "scale": self.scale,
            "searchPrefilterable": self.type == "reference",
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
            "sortable": self.sortable and self.type not in ("textarea", "address"),
            "type": self.type,
            "unique": self.unique,
            "updateable": self.updateable,
            "writeRequiresMasterRead": False,
        }


@dataclass(frozen=True)
class ValidationRule:
    name: str
    formula: str
    message: str
    display_field: str | None


@dataclass
class ObjectDef:
    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: dict[str, FieldDef]
    custom: bool = False
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    queryable: bool = True
    is_event: bool = False
    rules: list[ValidationRule] = field(default_factory=list)

    def field_ci(self, name: str) -> FieldDef | None:
        """Field names are case-insensitive in SOQL and in request bodies."""
        found = self.fields.get(name)
        if found is not None:
            return found
        lowered = name.lower()
        return next((f for f in self.fields.values() if f.name.lower() == lowered), None)

    def relationship_ci(self, name: str) -> FieldDef | None:
        lowered = name.lower()
        return next(
            (
                f
                for f in self.fields.values()
                if f.relationship_name and f.relationship_name.lower() == lowered
            ),
            None,
        )

    def urls(self, version: str) -> dict[str, str]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        urls = {"sobject": base, "describe": f"{base}/describe"}
        if not self.is_event:
            urls["rowTemplate"] = f"{base}/{{ID}}"
        return urls

    def summary(self, version: str) -> dict[str, Any]:
        return {
            "activateable": False,
            "associateEntityType": None,
            "associateParentEntity": None,
            "createable": self.createable,
            "custom": self.custom,
            "customSetting": False,
            "deepCloneable": False,
            "deletable": self.deletable,
            "deprecatedAndHidden": False,
            "feedEnabled": False,
            "hasSubtypes": False,
            "isInterface": False,
            "isSubtype": False,
            "keyPrefix": self.key_prefix,
            "label": self.label,
            "labelPlural": self.label_plural,
            "layoutable": not self.is_event,
            "mergeable": self.name in ("Account", "Contact"),
            "mruEnabled": not self.is_event,
            "name": self.name,
            "queryable": self.queryable,
            "replicateable": not self.is_event,
            "retrieveable": not self.is_event,
            "searchable": not self.is_event,
            "triggerable": True,
            "undeletable": not self.is_event,
            "updateable": self.updateable,
            "urls": self.urls(version),
        }


class Schema:
    """All objects of the org, by name (case-insensitive lookups) and by key prefix."""

    def __init__(self, objects: list[ObjectDef]) -> None:
        self.objects = {o.name: o for o in objects}
        self._lower = {o.name.lower(): o for o in objects}
        self.by_prefix = {o.key_prefix: o for o in objects}

    def get(self, name: str) -> ObjectDef | None:
        return self._lower.get(name.lower())

    def child_relationships(self, parent: str) -> list[dict[str, Any]]:
        out = []
        for obj in self.objects.values():
            for f in obj.fields.values():
                if parent in f.reference_to and f.child_relationship:
                    out.append(
                        {
                            "cascadeDelete": f.cascade_delete,
                            "childSObject": obj.name,
                            "deprecatedAndHidden": False,
                            "field": f.name,
                            "junctionIdListNames": [],
                            "junctionReferenceTo": [],
                            "relationshipName": f.child_relationship,
                            "restrictedDelete": False,
                        }
                    )
        return out

    def describe(self, name: str, version: str) -> dict[str, Any]:
        obj = self.objects[name]
        result = obj.summary(version)
        result.update(
            {
                "actionOverrides": [],
                "childRelationships": self.child_relationships(name),
                "compactLayoutable": not obj.is_event,
                "defaultImplementation": None,
                "extendedBy": None,
                "extendsInterfaces": None,
                "fields": [f.describe() for f in obj.fields.values()],
                "implementedBy": None,
                "implementsInterfaces": None,
                "listviewable": None,
                "lookupLayoutable": None,
                "namedLayoutInfos": [],
                "networkScopeFieldName": None,
                "recordTypeInfos": [],
                "searchLayoutable": not obj.is_event,
                "sobjectDescribeOption": "FULL",
                "supportedScopes": [
                    {"label": "All " + obj.label_plural.lower(), "name": "everything"}
                ],
            }
        )
        result["urls"] = {
            **obj.urls(version),
            "layouts": f"/services/data/v{version}/sobjects/{name}/describe/layouts",
        }
        return result
