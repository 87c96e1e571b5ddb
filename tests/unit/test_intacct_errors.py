"""Which of our errors an Intacct ``<errormessage>`` becomes, by where the gateway put it."""

from __future__ import annotations

from system_apis.sage_intacct.errors import (
    IntacctAuthError,
    IntacctErrorDetail,
    IntacctRejectedError,
    error_from_details,
)

NOT_QUERYABLE = IntacctErrorDetail(
    errorno="XL03000006",
    description2="The following fields cannot be queried: [ item: [BASEUOM] ] [Support ID: x]",
)


def test_a_field_query_cannot_read_is_a_rejected_request_not_a_sign_in_failure() -> None:
    error = error_from_details([NOT_QUERYABLE], level="result")
    assert isinstance(error, IntacctRejectedError)
    assert not isinstance(error, IntacctAuthError)
    assert error.errorno == "XL03000006"


def test_the_same_code_at_operation_level_is_a_sign_in_failure() -> None:
    signed_out = IntacctErrorDetail(
        errorno="XL03000006", description="Sign-in information is incorrect"
    )
    assert isinstance(error_from_details([signed_out], level="authentication"), IntacctAuthError)
    assert isinstance(error_from_details([signed_out], level="control"), IntacctAuthError)
