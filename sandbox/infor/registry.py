"""Which transactions the M3 emulator answers: each program's handlers, paired with the
transaction definitions in ``programs/`` (fields, mandatory inputs, single or list)."""

from __future__ import annotations

from sandbox.infor.documents import DOCUMENT_HANDLERS
from sandbox.infor.exportmi import EXPORT_HANDLERS
from sandbox.infor.master_data import MASTER_DATA_HANDLERS
from sandbox.infor.mi_metadata import METADATA_HANDLERS
from sandbox.infor.programs import programs
from sandbox.infor.transactions import (
    Handler,
    TxSpec,
    _add_batch_address,
    _add_batch_head,
    _add_batch_line,
    _add_batch_text,
    _confirm,
    _get_alt_uom,
    _get_atp,
    _get_basic_data,
    _get_financial,
    _get_head,
    _get_itm_basic,
    _get_itm_whs_bal,
    _get_price_line,
    _get_user_data,
    _lst_alt_uom,
    _lst_by_number,
    _lst_head,
    _lst_itm_by_chg_date,
    _lst_itm_whs_by_itm,
    _lst_line,
    _search_head,
)

__all__ = ["HANDLERS", "TRANSACTIONS"]

HANDLERS: dict[str, dict[str, Handler]] = {
    "MNS150MI": {"GetUserData": _get_user_data},
    "CRS610MI": {
        "GetBasicData": _get_basic_data,
        "GetFinancial": _get_financial,
        "LstByNumber": _lst_by_number,
    },
    "MMS200MI": {
        "GetItmBasic": _get_itm_basic,
        "GetItmWhsBal": _get_itm_whs_bal,
        "LstItmWhsByItm": _lst_itm_whs_by_itm,
        "LstItmByChgDate": _lst_itm_by_chg_date,
    },
    "MMS015MI": {"Lst": _lst_alt_uom, "Get": _get_alt_uom},
    "OIS320MI": {"GetPriceLine": _get_price_line},
    "OIS100MI": {
        "GetATP": _get_atp,
        "AddBatchHead": _add_batch_head,
        "AddBatchLine": _add_batch_line,
        "AddBatchAddress": _add_batch_address,
        "AddBatchText": _add_batch_text,
        "Confirm": _confirm,
        "GetHead": _get_head,
        "LstLine": _lst_line,
        "LstHead": _lst_head,
        "SearchHead": _search_head,
    },
    **DOCUMENT_HANDLERS,
    **EXPORT_HANDLERS,
    **METADATA_HANDLERS,
}
"""The business logic of each emulated transaction; its fields come from ``programs/``."""
for _program, _handlers in MASTER_DATA_HANDLERS.items():
    HANDLERS.setdefault(_program, {}).update(_handlers)


def _specs() -> dict[str, dict[str, TxSpec]]:
    defined = programs()
    specs: dict[str, dict[str, TxSpec]] = {}
    for program, handlers in HANDLERS.items():
        for name, handler in handlers.items():
            definition = defined[program].transactions[name]
            specs.setdefault(program, {})[name] = TxSpec(definition, handler)
    return specs


TRANSACTIONS: dict[str, dict[str, TxSpec]] = _specs()
"""Every emulated transaction: its definition (fields, mandatory inputs) and handler."""
