"""Experience APIs: the process capabilities shaped for one audience each.

- ``lightning/``: Apex and Lightning Web Components (internal users), ``/lightning/v1``.
- ``portal/``: partner portals, scoped to the calling partner, ``/portal/v1``.

Each has ``routes.py`` (the HTTP operations), ``models.py`` (its payloads) and ``views.py``
(process answers as that audience sees them). Both map their requests with ``mapping.py`` and
build payloads from ``payloads.py``; the deadline header and problem responses they document
are the process API's too (``app/routes/shared.py``).
"""

from app.experience.lightning import LightningController
from app.experience.portal import PortalController

__all__ = ["LightningController", "PortalController"]
