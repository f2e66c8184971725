"""The statements behind `investing.invest`, compiled once.

An investment is one round trip before COMMIT: a call of the PL/pgSQL function `place_note`
(migrations/versions/0031). It locks the lender's cash row (every movement of a lender's cash
locks it, so what it shows cannot change under us, and two investments by one lender take
turns); checks the request key, what the lender holds in the loan and the suitability limit,
and writes the note, the key, its balanced ledger entry and the audit row; then, last, the
guarded UPDATE of the loan (and, for the note that fills it, the issuance job), so the hot loan
row is held for that statement and the COMMIT right after it. If the loan cannot take the
note, the note is rolled back inside the function. A function rather than three statements:
one round trip, and PL/pgSQL keeps its statements' plans for the session (each text statement
was planned again on every call). Changing a rule means a migration replacing the function.
"""

from sqlalchemy import text

# What a lender has in notes now: the cash committed to listings, and the principal still
# outstanding on issued notes (the suitability limit caps it). Over `investments n`.
EXPOSURE = (
    "coalesce(sum(CASE n.status WHEN 'committed' THEN n.amount "
    "WHEN 'active' THEN n.principal_outstanding ELSE 0 END), 0)"
)

# One round trip: the function `place_note` (migrations 0031, 0041) locks the lender's cash row,
# writes the note, its key, its balanced ledger entry and the audit row, and reserves the loan
# last (queueing the issuance when the note fills it), answering the loan as it left it. It
# writes nothing when it places no note; its result then says what it read (role, is_active,
# cash_id) and the caller asks why.
PLACE = text("""
SELECT role, is_active, cash_id, committed_id, note_id, loan_status, loan_amount, loan_funded,
       loan_grade, loan_rate, loan_payment, loan_term
  FROM place_note(p_lender => :lender, p_loan => :loan, p_amount => :amount, p_cap => :cap,
                  p_share => :share, p_now => :now, p_cash_code => :cash_code,
                  p_committed_code => :committed_code, p_key => :key, p_scope => :scope,
                  p_hash => :hash, p_auto_reason => :auto_reason, p_ip => :ip,
                  p_agent => :agent)
""")

# Parameters: lender. Their declared net worth and what they have in notes (EXPOSURE).
SUITABILITY = text(
    "SELECT u.net_worth, (SELECT " + EXPOSURE + " FROM investments n WHERE n.lender_id = u.id) "
    "FROM users u WHERE u.id = :lender"
)
