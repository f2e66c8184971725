"""The reference servicer's comparison (test_reference_servicer.py), on another 20 loans.

A second test function draws other examples under the same fixed seed (Hypothesis derives it
from the test's name); a file of its own so that each of `make test`'s workers takes a half.
"""

from hypothesis import given

from tests.money.test_reference_servicer import DRAWN, events, loans, run_in_savepoint


@DRAWN
@given(loan_spec=loans(), stream=events)
def test_the_product_services_other_loans_as_the_reference_does(app, loan_spec, stream):
    run_in_savepoint(loan_spec, stream)
