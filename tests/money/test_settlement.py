"""Settlement files: the set-based path gives what applying each payment one by one gives.

A differential test over random books: the same settlement file is applied one by one through
`repayments.apply_payment` and, after rolling that back, through `settlement.settle`; every row
either path writes (payments, note shares, fees, installments, loans, notes, journal entries
and their legs, ledger balances, notices, outbox and activity) must be the same.
"""

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from app.extensions import db
from app.models import Installment, Loan, Payment, PaymentAllocation
from app.services.errors import DomainError
from app.services.servicing import repayments, servicing, settlement, statements
from app.services.servicing.settlement import SettlementRow
from tests.builders import assert_ledger_balances, issued_loan

D = Decimal
ISSUED = date(2024, 1, 15)
TODAY = date(2024, 4, 15)  # the third installment of every loan falls due
ROW_KINDS = ("due", "due", "due", "due", "short", "extra", "repeat_key", "second_row", "payoff")
HISTORIES = (
    "on_time",
    "on_time",
    "on_time",
    "missed_one",
    "caught_up",  # missed the first, then paid both installments: its late fee stays owed
    "paid_early",
    "prepaid",
    "paid_off",
)


@st.composite
def books(draw):
    count = draw(st.integers(1, 6))
    return [
        {
            "notes": [
                str(25 * u) for u in draw(st.lists(st.integers(1, 60), min_size=1, max_size=4))
            ],
            "rate": draw(st.sampled_from(["6.46", "10.99", "18.25", "0"])),
            "term": draw(st.sampled_from([4, 12, 36])),
            "history": draw(st.sampled_from(HISTORIES)),
            "row": draw(st.sampled_from(ROW_KINDS)),
        }
        for _ in range(count)
    ]


@settings(
    max_examples=15,
    print_blob=True,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(book=books())
def test_a_settlement_file_applies_as_one_by_one_payments_do(app, book):
    outer = db.session.begin_nested()
    try:
        rows = _build(book)
        inner = db.session.begin_nested()
        refused_one_by_one = _one_by_one(rows)
        expected = _snapshot(rows)
        inner.rollback()
        db.session.expire_all()
        result = settlement.settle(db.session, rows, TODAY)
        assert [row for row, _ in result.refused] == refused_one_by_one
        assert _snapshot(rows) == expected
        assert_ledger_balances()
    finally:
        outer.rollback()


def test_the_usual_file_is_applied_together():
    rows = _build(
        [
            {
                "notes": ["500", "1500", "25"],
                "rate": "10.99",
                "term": 12,
                "history": "on_time",
                "row": "due",
            }
        ]
        * 3
    )
    result = settlement.settle(db.session, rows, TODAY)
    assert (result.together, result.one_by_one, result.refused) == (3, 0, [])
    for row in rows:
        loan = db.session.get(Loan, row.loan_id)
        third = db.session.scalar(
            select(Installment).where(Installment.loan_id == loan.id, Installment.number == 3)
        )
        assert third.status.value == "paid" and loan.servicing_status.value == "current"


def test_a_late_fee_still_owed_does_not_keep_a_loan_out_of_the_set():
    """A borrower who caught up on the installments but not the late fee is current and owes
    the fee; the installment due takes the whole payment before any fee would, so their next
    installments are plain autopay rows."""
    spec = {"notes": ["500", "1500"], "rate": "10.99", "term": 12, "row": "due"}
    rows = _build([{**spec, "history": "caught_up"}, {**spec, "history": "on_time"}])
    owed = statements.statement(db.session, db.session.get(Loan, rows[0].loan_id), TODAY)
    assert owed.fees_owed > 0
    result = settlement.settle(db.session, rows, TODAY)
    assert (result.together, result.one_by_one, result.refused) == (2, 0, [])


def _build(book) -> list[SettlementRow]:
    loans = []
    for spec in book:
        loan, _ = issued_loan(spec["notes"], rate=spec["rate"], term=spec["term"], issued_on=ISSUED)
        loans.append((loan, spec))
    day = ISSUED + timedelta(days=1)
    while day < TODAY:
        servicing.run_cycle(db.session, day)
        for loan, spec in loans:
            _history(loan, spec["history"], day)
        day += timedelta(days=1)
    servicing.run_cycle(db.session, TODAY)
    rows = []
    for index, (loan, spec) in enumerate(loans):
        rows += _rows(loan, spec["row"], index)
    return rows


def _history(loan, history, day):
    if loan.servicing_status.value in ("paid_off", "charged_off"):
        return
    ahead = timedelta(days=3) if history == "paid_early" else timedelta(0)
    due = [i for i in loan.installments if i.due_date == day + ahead]
    if not due:
        return
    amount = due[0].principal_due + due[0].interest_due
    if history in ("missed_one", "caught_up") and due[0].number == 1:
        return
    if history == "caught_up" and due[0].number == 2:
        owed = statements.statement(db.session, loan, day)
        amount = owed.due_now - owed.fees_owed
    if history == "paid_off" and due[0].number == 2:
        amount = repayments.payoff_amount(db.session, loan, day).total
    if history == "prepaid" and due[0].number == 1:
        amount += D("100.00")
    _apply(loan.id, amount, day, f"history-{loan.id}-{due[0].number}", loan.borrower_id)


def _rows(loan, kind, index) -> list[SettlementRow]:
    third = db.session.scalar(
        select(Installment).where(Installment.loan_id == loan.id, Installment.number == 3)
    )
    amount = third.principal_due + third.interest_due if third else D("100.00")
    row = SettlementRow(loan.id, amount, f"autopay-{loan.id}", payer_id=loan.borrower_id)
    if kind == "short":
        return [SettlementRow(loan.id, amount - D("0.01"), row.idempotency_key, row.payer_id)]
    if kind == "extra":
        return [SettlementRow(loan.id, amount + D("12.34"), row.idempotency_key, row.payer_id)]
    if kind == "repeat_key":
        return [row, row]
    if kind == "second_row":
        return [row, SettlementRow(loan.id, D("10.00"), f"extra-{loan.id}", row.payer_id)]
    if kind == "payoff" and loan.servicing_status.value != "paid_off":
        payoff = repayments.payoff_amount(db.session, loan, TODAY).total
        return [SettlementRow(loan.id, payoff, row.idempotency_key, row.payer_id)]
    return [row]


def _apply(loan_id, amount, day, key, payer_id):
    try:
        with db.session.begin_nested():
            repayments.apply_payment(
                db.session,
                loan_id,
                amount,
                received_on=day,
                idempotency_key=key,
                payer_id=payer_id,
            )
    except DomainError:
        pass


def _one_by_one(rows) -> list[SettlementRow]:
    refused = []
    for row in rows:
        try:
            with db.session.begin_nested():
                repayments.apply_payment(
                    db.session,
                    row.loan_id,
                    row.amount,
                    received_on=TODAY,
                    idempotency_key=row.idempotency_key,
                    payer_id=row.payer_id,
                )
        except DomainError:
            refused.append(row)
    return refused


def _snapshot(rows) -> dict:
    """Every row the file could have written, named without database ids that differ."""
    db.session.flush()
    loan_ids = sorted({row.loan_id for row in rows})
    payments = db.session.scalars(
        select(Payment).where(Payment.loan_id.in_(loan_ids)).order_by(Payment.id)
    ).all()
    name = {p.id: f"{p.loan_id}/{p.idempotency_key}" for p in payments}
    query = lambda sql, **params: db.session.execute(text(sql), params).all()  # noqa: E731
    return {
        "payments": sorted(
            (
                name[p.id],
                p.amount,
                p.principal_applied,
                p.interest_applied,
                p.fees_applied,
                p.status,
                p.provider,
                p.payer_id,
                p.received_on,
            )
            for p in payments
        ),
        "allocations": sorted(
            (
                name[a.payment_id],
                a.investment_id,
                a.principal,
                a.interest,
                a.late_fee,
                a.recovery,
                a.servicing_fee,
            )
            for a in db.session.scalars(
                select(PaymentAllocation).where(PaymentAllocation.payment_id.in_(name))
            )
        ),
        "loans": query(
            "SELECT id, principal_outstanding, servicing_status, days_past_due, next_due_date,"
            " closed_at FROM loans WHERE id = ANY(:ids) ORDER BY id",
            ids=loan_ids,
        ),
        "installments": query(
            "SELECT loan_id, number, due_date, principal_due, interest_due, fee_due,"
            " principal_paid, interest_paid, fee_paid, status, paid_on, accrual_start,"
            " interest_settled FROM installments WHERE loan_id = ANY(:ids)"
            " ORDER BY loan_id, number",
            ids=loan_ids,
        ),
        "notes": query(
            "SELECT id, principal_outstanding, status FROM investments"
            " WHERE loan_id = ANY(:ids) ORDER BY id",
            ids=loan_ids,
        ),
        "balances": query("SELECT code, balance FROM ledger_accounts ORDER BY code"),
        "entries": sorted(
            (
                name[int(e.idempotency_key.split(":")[1])],
                e.kind,
                e.memo.replace(f"#{e.idempotency_key.split(':')[1]} ", "# "),
                e.effective_date,
                e.loan_id,
                e.user_id,
                e.legs,
            )
            for e in query(
                "SELECT e.idempotency_key, e.kind, e.memo, e.effective_date, e.loan_id,"
                " e.user_id, array_agg(a.code || '=' || p.amount ORDER BY a.code) AS legs"
                " FROM journal_entries e JOIN postings p ON p.entry_id = e.id"
                " JOIN ledger_accounts a ON a.id = p.account_id"
                " WHERE e.idempotency_key = ANY(:keys) GROUP BY e.id",
                keys=[f"payment:{pid}" for pid in name],
            )
        ),
        "notices": Counter(
            (r.user_id, r.kind, r.title, r.body, r.link_endpoint, str(r.link_args))
            for r in query(
                "SELECT * FROM notifications WHERE dedupe_key = ANY(:keys)",
                keys=[f"payment-{pid}" for pid in name],
            )
        ),
        "emails": query(
            "SELECT count(*) FROM outbox_messages o JOIN notifications n"
            " ON o.dedupe_key = 'email-' || n.id WHERE n.dedupe_key = ANY(:keys)",
            keys=[f"payment-{pid}" for pid in name],
        ),
        "activity": Counter(
            (r.user_id, r.action, name[r.entity_id], str(sorted(r.details.items())))
            for r in query(
                "SELECT * FROM activity_logs WHERE entity_type = 'payments'"
                " AND entity_id = ANY(:ids)",
                ids=list(name),
            )
        ),
    }


def test_the_settle_command_applies_a_file_or_nothing(app, tmp_path):
    rows = _build([{"notes": ["500", "500"], "rate": "10.99", "term": 12,
                    "history": "on_time", "row": "due"}] * 2)  # fmt: skip
    lines = ["loan_id,amount,idempotency_key,payer_id,provider_ref"] + [
        f"{row.loan_id},{row.amount},{row.idempotency_key},{row.payer_id},ch_{index}"
        for index, row in enumerate(rows)
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([*lines, "12,1e3,k-x,,", "x,10.00,k-y,,", "13,5.00,,,"]) + "\n")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs", "settle", str(bad), "--date", TODAY.isoformat()])
    assert result.exit_code != 0
    assert "line 4: amount '1e3' is not dollars and cents" in result.output
    assert "line 5: loan_id 'x' and payer_id '' must be whole numbers" in result.output
    assert "line 6: every payment needs its idempotency_key" in result.output
    settled = select(Payment).where(Payment.idempotency_key.like("autopay-%"))
    assert db.session.scalars(settled).all() == []
    good = tmp_path / "good.csv"
    good.write_text("\n".join(lines) + "\n")
    result = runner.invoke(args=["jobs", "settle", str(good), "--date", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "2 applied together, 0 one by one, 0 refused." in result.output
    paid = db.session.scalars(settled.order_by(Payment.loan_id)).all()
    assert [(p.amount, p.provider.value, p.provider_ref) for p in paid] == [
        (row.amount, "stripe", f"ch_{index}") for index, row in enumerate(rows)
    ]
