"""HTTP routes: the process APIs (``process.py``; orders in ``orders.py``), and what every
API's routes share (``shared.py``: the deadline header and the documented problem responses).
The experience APIs built on the process APIs are in ``app/experience/``."""

from app.routes.orders import ProcessOrdersController
from app.routes.process import ProcessController

__all__ = ["ProcessController", "ProcessOrdersController"]
