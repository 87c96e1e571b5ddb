"""Emulator of the Infor ION API gateway (OAuth2) and M3 MI REST v2, with seed data and faults."""

from sandbox.infor.emulator import InforEmulator, ReceivedRequest
from sandbox.infor.faults import Fault, FaultKind

__all__ = ["Fault", "FaultKind", "InforEmulator", "ReceivedRequest"]
