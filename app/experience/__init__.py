"""Experience APIs: the process capabilities shaped for one audience each.

- ``lightning/``: Apex and Lightning Web Components (internal users), ``/lightning/v1``.
- ``portal/``: partner portals, scoped to the calling partner, ``/portal/v1``.

Each has ``routes.py`` (the HTTP operations), ``models.py`` (its payloads), ``views.py``
(process answers as that audience sees them) and ``orders.py`` (order submission and status,
over the process API's order routes in ``app/routes/orders.py``). Both map their requests with ``mapping.py`` and
build payloads from ``payloads.py``; the deadline header and problem responses they document
are the process API's too (``app/routes/shared.py``).
"""

from app.experience.lightning import LightningController, LightningOrdersController
from app.experience.portal import PortalController, PortalOrdersController

__all__ = [
    "LightningController",
    "LightningOrdersController",
    "PortalController",
    "PortalOrdersController",
]
