"""Delta sync between the ERPs and Salesforce, with field ownership, and the reconciler.

- ``model`` — flows (source system, record kind, entity) and keyed Salesforce writes;
- ``ownership`` — who masters each field and what a conflict does (``ownership.toml``);
- ``writeback`` — ERP changes → the Salesforce records that show them;
- ``writer`` — skip unchanged, apply ownership, write in sObject collections;
- ``engine`` — one run of a flow: lease, window, batches, watermark, failures;
- ``intake`` — Salesforce Orders reaching a status → the orders path;
- ``scheduler`` — flows on their intervals and the nightly reconciler in the worker;
- ``reconcile`` — drift between the ERP and Salesforce, and safe repairs;
- ``handlers`` — the exception queue's handlers for sync failures.
"""

from process_apis.sync.engine import (
    RUN_FLOW,
    WRITEBACK_FLOW,
    FlowBusyError,
    FlowNotFoundError,
    RunSummary,
    SyncEngine,
    SyncPolicy,
)
from process_apis.sync.handlers import sync_flow_handlers
from process_apis.sync.intake import INTAKE_CLIENT, INTAKE_FLOW, OrderIntake
from process_apis.sync.model import ERP_KINDS, FlowSpec, SalesforceWrite, doc_key, parse_flow
from process_apis.sync.ownership import (
    DEFAULT_OWNERSHIP_FILE,
    FieldRule,
    OwnershipError,
    OwnershipTable,
)
from process_apis.sync.reconcile import Drift, Reconciler, ReconcileReport
from process_apis.sync.scheduler import Schedule, SyncScheduler

__all__ = [
    "DEFAULT_OWNERSHIP_FILE",
    "ERP_KINDS",
    "INTAKE_CLIENT",
    "INTAKE_FLOW",
    "RUN_FLOW",
    "WRITEBACK_FLOW",
    "Drift",
    "FieldRule",
    "FlowBusyError",
    "FlowNotFoundError",
    "FlowSpec",
    "OrderIntake",
    "OwnershipError",
    "OwnershipTable",
    "ReconcileReport",
    "Reconciler",
    "RunSummary",
    "SalesforceWrite",
    "Schedule",
    "SyncEngine",
    "SyncPolicy",
    "SyncScheduler",
    "doc_key",
    "parse_flow",
    "sync_flow_handlers",
]
