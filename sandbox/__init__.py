"""Sandbox emulators of the vendor systems Isthmus talks to, speaking their wire protocols.

Nothing here imports the adapters or the process layer: an emulator written from the vendor's
documentation, not from our client code, is what makes the contract tests mean something.
"""
