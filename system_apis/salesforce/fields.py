"""Which Salesforce fields each canonical record is written to: the single place that says so.

A test checks every field named here against the SFDX metadata in ``salesforce/`` (and the
standard objects), so a rename on either side fails the build, not a customer's sync.
"""

from __future__ import annotations

from typing import Any

from system_apis.crm import (
    AccountCredit,
    ErpInvoice,
    ErpPayment,
    ErpShipment,
    OrderAckUpdate,
    StatusEvent,
)

__all__ = [
    "EVENT_OBJECT",
    "INVOICE_OBJECT",
    "PAYMENT_OBJECT",
    "SHIPMENT_OBJECT",
    "WRITTEN_FIELDS",
    "credit_fields",
    "event_fields",
    "invoice_fields",
    "order_ack_fields",
    "payment_fields",
    "shipment_fields",
]

SHIPMENT_OBJECT, SHIPMENT_KEY = "ERP_Shipment__c", "ERP_Shipment_Id__c"
INVOICE_OBJECT, INVOICE_KEY = "ERP_Invoice__c", "ERP_Invoice_Id__c"
PAYMENT_OBJECT, PAYMENT_KEY = "ERP_Payment__c", "ERP_Payment_Id__c"
EVENT_OBJECT = "ERP_Status_Event__e"

WRITTEN_FIELDS: dict[str, frozenset[str]] = {
    "Order": frozenset({"ERP_System__c", "ERP_Sync_Status__c", "ERP_Order_Number__c", "ERP_Status__c",
                        "ERP_Status_Message__c", "ERP_Last_Synced__c"}),
    "Account": frozenset({"Credit_Limit__c", "Credit_Exposure__c", "Credit_Overdue__c", "Credit_Currency__c",
                          "Credit_Hold__c", "Credit_Hold_Reason__c", "Credit_As_Of__c"}),
    SHIPMENT_OBJECT: frozenset({"Name", SHIPMENT_KEY, "ERP_System__c", "Order__c", "Account__c", "Carrier__c",
                                "Tracking_Number__c", "Shipped_Date__c", "Status__c"}),
    INVOICE_OBJECT: frozenset({"Name", INVOICE_KEY, "ERP_System__c", "Account__c", "Order__c", "Invoice_Date__c",
                               "Due_Date__c", "Currency_Code__c", "Total_Amount__c", "Amount_Due__c", "Status__c"}),
    PAYMENT_OBJECT: frozenset({"Name", PAYMENT_KEY, "ERP_System__c", "Invoice__c", "Account__c", "Amount__c",
                               "Currency_Code__c", "Payment_Date__c", "Method__c"}),
    EVENT_OBJECT: frozenset({"Record_Id__c", "Kind__c", "Status__c", "Message__c", "ERP_Reference__c",
                             "Correlation_Id__c"}),
}  # fmt: skip
"""Object → fields Isthmus writes (``Invoice__c`` is written through ``Invoice__r``)."""


def order_ack_fields(ack: OrderAckUpdate) -> dict[str, Any]:
    values: dict[str, Any] = {
        "Id": ack.order_id,
        "ERP_System__c": ack.erp_system,
        "ERP_Sync_Status__c": ack.sync_status,
        "ERP_Status_Message__c": ack.message[:255] if ack.message else None,
        "ERP_Last_Synced__c": ack.synced_at,
    }
    # Known values only: a later acknowledgement without a number never erases the number.
    if ack.erp_order_number is not None:
        values["ERP_Order_Number__c"] = ack.erp_order_number
    if ack.erp_status is not None:
        values["ERP_Status__c"] = ack.erp_status
    return values


def credit_fields(credit: AccountCredit) -> dict[str, Any]:
    return {
        "Id": credit.account_id,
        "Credit_Limit__c": credit.credit_limit,
        "Credit_Exposure__c": credit.exposure,
        "Credit_Overdue__c": credit.overdue,
        "Credit_Currency__c": credit.currency,
        "Credit_Hold__c": credit.on_hold,
        "Credit_Hold_Reason__c": (credit.hold_reason or None) if credit.on_hold else None,
        "Credit_As_Of__c": credit.as_of,
    }


def shipment_fields(shipment: ErpShipment) -> dict[str, Any]:
    return {
        "Name": shipment.shipment_id[:80],
        SHIPMENT_KEY: shipment.shipment_id,
        "ERP_System__c": shipment.erp_system,
        "Order__c": shipment.order_id,
        "Account__c": shipment.account_id,
        "Carrier__c": shipment.carrier,
        "Tracking_Number__c": shipment.tracking_number,
        "Shipped_Date__c": shipment.shipped_on,
        "Status__c": shipment.status,
    }


def invoice_fields(invoice: ErpInvoice) -> dict[str, Any]:
    return {
        "Name": invoice.invoice_id[:80],
        INVOICE_KEY: invoice.invoice_id,
        "ERP_System__c": invoice.erp_system,
        "Account__c": invoice.account_id,
        "Order__c": invoice.order_id,
        "Invoice_Date__c": invoice.invoice_date,
        "Due_Date__c": invoice.due_date,
        "Currency_Code__c": invoice.currency,
        "Total_Amount__c": invoice.total,
        "Amount_Due__c": invoice.amount_due,
        "Status__c": invoice.status,
    }


def payment_fields(payment: ErpPayment) -> dict[str, Any]:
    values: dict[str, Any] = {
        "Name": payment.payment_id[:80],
        PAYMENT_KEY: payment.payment_id,
        "ERP_System__c": payment.erp_system,
        "Account__c": payment.account_id,
        "Amount__c": payment.amount,
        "Currency_Code__c": payment.currency,
        "Payment_Date__c": payment.paid_on,
        "Method__c": payment.method,
    }
    if payment.invoice_id is not None:
        # Linked by the invoice's external id: no lookup round trip for its record id.
        values["Invoice__r"] = {INVOICE_KEY: payment.invoice_id}
    return values


def event_fields(event: StatusEvent) -> dict[str, Any]:
    return {
        "Record_Id__c": event.record_id,
        "Kind__c": event.kind,
        "Status__c": event.status[:40],
        "Message__c": event.message[:255] if event.message else None,
        "ERP_Reference__c": event.erp_reference,
        "Correlation_Id__c": event.correlation_id,
    }
