"""Process APIs: the business capabilities, the same for every ERP.

One module per capability — ``price_check``, ``atp``, ``credit_check``, ``validate_quote`` —
over one shared fan-out (``fanout``), with payloads in ``models``. ``ProcessApi`` (``api``)
puts them behind the whole-answer memo. Routing, the Salesforce cross-reference, units and
money live in ``routing``, ``xref``, ``uom`` and ``money``.
"""

from process_apis.api import ProcessApi

__all__ = ["ProcessApi"]
