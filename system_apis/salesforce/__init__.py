"""Salesforce system API: the org over REST through simple-salesforce (``CrmBackend``)."""

from system_apis.salesforce.adapter import BATCH_SIZE, SalesforceAdapter, soql_quote
from system_apis.salesforce.client import SalesforceClient
from system_apis.salesforce.credentials import ClientCredentials, JwtBearer
from system_apis.salesforce.errors import SalesforceBudgetError, SalesforceLoginError
from system_apis.salesforce.fields import WRITTEN_FIELDS
from system_apis.salesforce.transport import build_session

__all__ = [
    "BATCH_SIZE",
    "WRITTEN_FIELDS",
    "ClientCredentials",
    "JwtBearer",
    "SalesforceAdapter",
    "SalesforceBudgetError",
    "SalesforceClient",
    "SalesforceLoginError",
    "build_session",
    "soql_quote",
]
