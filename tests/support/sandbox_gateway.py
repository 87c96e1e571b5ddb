"""Both emulators on loopback ports, and gateway settings that point at them."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sandbox.infor import InforEmulator
from sandbox.intacct import INTACCT_SANDBOX_CREDENTIALS, IntacctEmulator
from sandbox.intacct.seed import ENTITY_DEFAULT_PRICE_LIST
from sandbox.xref import XREF_PATH
from tests.support.servers import free_port, serve


@dataclass(frozen=True)
class Sandbox:
    intacct: IntacctEmulator
    infor: InforEmulator
    env: dict[str, str]
    """``settings_for(**env)`` keyword arguments wiring a gateway to both emulators."""


@contextmanager
def running_sandbox() -> Iterator[Sandbox]:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        intacct_port, infor_port = free_port(), free_port()
        intacct = IntacctEmulator(public_url=f"http://127.0.0.1:{intacct_port}")
        infor = InforEmulator(public_url=f"http://127.0.0.1:{infor_port}")
        ionapi = tmp / "sandbox.ionapi"
        infor.write_ionapi(ionapi)
        intacct_url = stack.enter_context(serve(intacct.app, port=intacct_port))
        stack.enter_context(serve(infor.app, port=infor_port))
        cred = INTACCT_SANDBOX_CREDENTIALS
        env = {
            "intacct__endpoint_url": f"{intacct_url}/ia/xml/xmlgw.phtml",
            "intacct__sender_id": cred.sender_id,
            "intacct__sender_password": cred.sender_password,
            "intacct__user_id": cred.user_id,
            "intacct__company_id": cred.company_id,
            "intacct__user_password": cred.user_password,
            "infor__ionapi_file": str(ionapi),
            "xref_file": str(XREF_PATH),
            **{
                f"intacct__default_price_lists__{entity}": name
                for entity, name in ENTITY_DEFAULT_PRICE_LIST.items()
            },
        }
        yield Sandbox(intacct=intacct, infor=infor, env=env)
