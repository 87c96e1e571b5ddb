"""One contract suite, run against every ERP adapter over its emulator (real loopback HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.contract_env import ContractEnv


@pytest.fixture(params=["sage_intacct", "sage_intacct_batched", "infor_m3"])
async def erp(request: pytest.FixtureRequest) -> AsyncIterator[ContractEnv]:
    if request.param == "sage_intacct_batched":
        # The same contract with reads sharing multi-function requests (the production default).
        from tests.support.intacct_env import intacct_contract_env

        async with intacct_contract_env(batch_window=0.002) as env:
            yield env
        return
    if request.param == "sage_intacct":
        from tests.support.intacct_env import intacct_contract_env as factory
    else:
        from tests.support.infor_env import infor_contract_env as factory
    async with factory() as env:
        yield env
