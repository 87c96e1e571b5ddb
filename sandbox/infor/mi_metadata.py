"""``MRS001MI``, M3's MI repository: programs, their transactions and each transaction's
input and output fields, answered from the same definitions (``programs/``) that drive the
emulated transactions."""

from __future__ import annotations

from sandbox.infor.programs import MiField, MiTransaction, programs
from sandbox.infor.transactions import Handler, M3State, MiError, Session

__all__ = ["METADATA_HANDLERS"]

Record = dict[str, str]
_REGISTERED = "20150101"  # RGDT/LMDT of the sandbox's repository entries


def _program(inp: dict[str, str]) -> str:
    name = inp.get("MINM", "").strip().upper()
    if name not in programs():
        raise MiError("WMI0203", f"Program {name} does not exist", "MINM")
    return name


def _transaction(inp: dict[str, str]) -> MiTransaction:
    program = programs()[_program(inp)]
    name = inp.get("TRNM", "").strip()
    found = program.transactions.get(name)
    if found is None:
        raise MiError("WTR0203", f"Transaction {name} does not exist", "TRNM")
    return found


def _program_record(name: str) -> Record:
    return {
        "MINM": name,
        "OBNM": name,
        "MIDS": programs()[name].description,
        "RGDT": _REGISTERED,
        "VERS": "15.1",
        "LMDT": _REGISTERED,
        "CHID": "INFOR",
        "MNID": "M3",
    }


def _transaction_record(tx: MiTransaction) -> Record:
    return {
        "MINM": tx.program,
        "TRNM": tx.name,
        "TRDS": tx.description,
        "VERS": "15.1",
        "STAT": "20",
        "SIMU": "M" if tx.multiple else "S",
        "RGDT": _REGISTERED,
        "LMDT": _REGISTERED,
        "CHID": "INFOR",
    }


def _lst_programs(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    return [_program_record(name) for name in sorted(programs())]


def _get_program(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    return [_program_record(_program(inp))]


def _lst_transactions(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    program = programs()[_program(inp)]
    return [_transaction_record(tx) for tx in program.transactions.values()]


def _get_transaction(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    return [_transaction_record(_transaction(inp))]


def _field_records(tx: MiTransaction, direction: str, fields: tuple[MiField, ...]) -> list[Record]:
    records, position = [], 1
    for f in fields:
        records.append(
            {
                "MINM": tx.program,
                "TRNM": tx.name,
                "TRTP": direction,
                "FLNM": f.name,
                "FLDS": f.description,
                "FRPO": str(position),
                "TOPO": str(position + f.length - 1),
                "LENG": str(f.length),
                "TYPE": f.type,
                "MAND": "1" if f.mandatory else "0",
                "RGDT": _REGISTERED,
                "LMDT": _REGISTERED,
                "CHID": "INFOR",
            }
        )
        position += f.length
    return records


def _lst_fields(st: M3State, ses: Session, inp: dict[str, str]) -> list[Record]:
    tx = _transaction(inp)
    direction = inp.get("TRTP", "").strip().upper()
    if direction not in ("I", "O"):
        raise MiError("WTR0303", f"Layout type {direction} is invalid", "TRTP")
    return _field_records(tx, direction, tx.inputs if direction == "I" else tx.outputs)


METADATA_HANDLERS: dict[str, dict[str, Handler]] = {
    "MRS001MI": {
        "LstPrograms": _lst_programs,
        "GetProgram": _get_program,
        "LstTransactions": _lst_transactions,
        "GetTransaction": _get_transaction,
        "LstFields": _lst_fields,
    }
}
