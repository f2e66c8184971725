"""The CSV formats an admin can import, column by column, and the SQL that checks and casts them.

Every check runs in PostgreSQL over the whole staging table at once, so a million-row file is
checked in one pass; each column's CASE names the first thing wrong with a cell, or is NULL.
"""

from dataclasses import dataclass, field

from app.models import APPLICATION_LIMITS, CREDIT_FACTS, EmploymentStatus, LoanPurpose

EMAIL_PATTERN = r"^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$"
MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
INTEGER_PATTERN = r"^[0-9]{1,9}$"
PERCENT_PATTERN = r"^[0-9]{1,3}(\.[0-9]{1,3})?$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text | email | money | integer | percent | choice | date | flag
    # choices: the allowed values, as written in the file (any kind may have them)
    required: bool = True
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] = ()
    max_length: int = 200
    choices_hint: str | None = None  # said instead of listing every choice


@dataclass(frozen=True)
class Format:
    kind: str
    columns: tuple[Column, ...]
    key: str  # the natural key: a row whose key is already stored is skipped, not duplicated
    description: str
    by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "by_name", {column.name: column for column in self.columns})

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


def _credit_facts() -> tuple[Column, ...]:
    kinds = {"annual_income": "money", "monthly_debt": "money", "revolving_balance": "money"}
    kinds["revolving_utilization"] = "percent"
    return tuple(
        Column(
            name,
            kinds.get(name, "integer"),
            low=APPLICATION_LIMITS[name][0],
            high=APPLICATION_LIMITS[name][1],
        )
        for name in CREDIT_FACTS
    )


PURPOSES = tuple(p.value for p in LoanPurpose)
GRADES = tuple(g + n for g in "abcdefg" for n in ("", "1", "2", "3", "4", "5"))

USERS = Format(
    "users",
    (
        Column("email", "email", max_length=254),
        Column("first_name", "text", max_length=100),
        Column("last_name", "text", max_length=100),
        # The original design's users.csv has no role: its people are borrowers.
        Column("role", "choice", required=False, choices=("borrower", "lender")),
        Column("phone", "text", required=False, max_length=32),
        Column("date_of_birth", "date", required=False),
        Column("address_line1", "text", required=False),
        Column("city", "text", required=False, max_length=100),
        Column("state", "text", required=False, max_length=100),
        Column("postal_code", "text", required=False, max_length=20),
        Column("country", "text", required=False, max_length=2),
        Column("annual_income", "money", required=False, low=0, high=100_000_000),
        # A lender's declared net worth: their notes may total at most a share of it.
        Column("net_worth", "money", required=False, low=0, high=10_000_000_000),
        Column(
            "employment_status",
            "choice",
            required=False,
            choices=tuple(s.value for s in EmploymentStatus),
        ),
        Column("credit_score", "integer", required=False, low=300, high=850),
    ),
    key="email",
    description="Borrower and lender accounts (they sign in after resetting their password).",
)


def loans_format(loan_terms: tuple[int, ...]) -> Format:
    """Applications from a partner, joined to existing borrowers by email; each gets scored."""
    return Format(
        "loans",
        (
            Column("external_id", "text", max_length=64),
            Column("borrower_email", "email", max_length=254),
            Column(
                "amount",
                "money",
                low=APPLICATION_LIMITS["amount"][0],
                high=APPLICATION_LIMITS["amount"][1],
            ),
            Column("term_months", "integer", choices=tuple(str(t) for t in loan_terms)),
            Column("purpose", "choice", choices=PURPOSES),
            Column("title", "text", required=False, max_length=120),
            Column("description", "text", required=False, max_length=2000),
            *_credit_facts(),
            # Another lender's pricing, as the original design's loans.csv carries it: kept
            # beside ours for comparison (quoted_rate, quoted_grade), never used to price.
            Column("interest_rate", "percent", required=False, high=100),
            Column(
                "risk_grade",
                "choice",
                required=False,
                choices=GRADES,
                choices_hint="must be a grade from A to G, alone or with 1 to 5 (like B2)",
            ),
        ),
        key="external_id",
        description="Loan applications; borrowers are matched by email and must already exist.",
    )


OUTCOMES = Format(
    "outcomes",
    (
        Column("external_id", "text", max_length=64),
        Column("amount", "money", low=100, high=1_000_000),
        Column("term_months", "integer", low=1, high=120),
        Column("purpose", "choice", choices=PURPOSES),
        *_credit_facts(),
        Column("defaulted", "flag"),
    ),
    key="external_id",
    description="Matured loans with their outcome (defaulted 1/0), for retraining the risk model.",
)

KINDS = ("users", "loans", "outcomes")


def format_for(kind: str, loan_terms: tuple[int, ...] = (36, 60)) -> Format:
    if kind == "users":
        return USERS
    if kind == "loans":
        return loans_format(loan_terms)
    if kind == "outcomes":
        return OUTCOMES
    raise ValueError(f"Unknown import kind {kind!r}; choose one of {', '.join(KINDS)}.")


def literal(text: str) -> str:
    """A SQL string literal (every value here is ours, never the file's)."""
    return "'" + text.replace("'", "''") + "'"


def check_sql(column: Column) -> str:
    """A CASE over the raw cell giving the first problem with it, or NULL when it is fine."""
    cell = f"btrim(s.{column.name})"
    whens = [(f"coalesce({cell}, '') = ''", "is required" if column.required else None)]
    whens += _kind_checks(column, cell)
    parts = []
    for condition, message in whens:
        parts.append(f"WHEN {condition} THEN {literal(message) if message else 'NULL'}")
    return "CASE " + " ".join(parts) + " END"


def _kind_checks(column: Column, cell: str) -> list[tuple[str, str]]:
    kind, low, high = column.kind, column.low, column.high
    checks: list[tuple[str, str]] = []
    if kind in ("text", "email"):
        checks.append(
            (f"length({cell}) > {column.max_length}", f"is longer than {column.max_length}")
        )
    if kind == "email":
        checks.append((f"{cell} !~ {literal(EMAIL_PATTERN)}", "is not an email address"))
    if kind in ("money", "integer", "percent"):
        pattern, example = {
            "money": (MONEY_PATTERN, "an amount in dollars and cents, like 1500.00"),
            "integer": (INTEGER_PATTERN, "a whole number"),
            "percent": (PERCENT_PATTERN, "a percentage, like 35.5"),
        }[kind]
        checks.append((f"{cell} ~ '^-'", "must not be negative"))
        checks.append((f"{cell} !~ {literal(pattern)}", f"is not {example}"))
        if low:
            checks.append((f"{cell}::numeric < {low}", f"must be at least {low:,}"))
        if high is not None:
            checks.append((f"{cell}::numeric > {high}", f"must be at most {high:,}"))
    if column.choices:
        allowed = ", ".join(literal(c) for c in column.choices)
        if column.name == "role":
            checks.append((f"lower({cell}) = 'admin'", "admin accounts cannot be imported"))
        hint = column.choices_hint or "must be one of " + ", ".join(column.choices)
        checks.append((f"lower({cell}) NOT IN ({allowed})", hint))
    if kind == "date":
        checks.append((f"{cell} !~ {literal(DATE_PATTERN)}", "is not a date like 1990-04-30"))
        checks.append((f"import_date({cell}) IS NULL", "is not a real date"))
    if kind == "flag":
        allowed = ", ".join(literal(f) for f in FLAGS)
        checks.append((f"lower({cell}) NOT IN ({allowed})", "must be 1 or 0 (or yes/no)"))
    return checks


def cast_sql(column: Column) -> str:
    """The typed value of a checked cell."""
    cell = f"nullif(btrim(s.{column.name}), '')"
    return {
        "text": cell,
        "email": f"lower({cell})",
        "money": f"{cell}::numeric(14, 2)",
        "integer": f"{cell}::integer",
        "percent": f"{cell}::numeric(6, 3)",
        "choice": f"lower({cell})",
        "date": f"{cell}::date",
        "flag": f"lower({cell}) IN ('1', 'true', 'yes')",
    }[column.kind]


NUMERIC_KINDS = {"money": 2, "integer": 0, "percent": 3}  # kind -> decimals allowed


def quick_check_sql(fmt: Format, present: list[str]) -> str:
    """True for a row that is certainly good, in a few cheap operations instead of one per rule.

    Rows it does not pass (bad ones, and good ones with stray spaces) get the full per-cell
    check; on a clean million-row file that is almost none, which keeps imports near COPY speed.
    Every row it passes must also pass `check_sql`, column by column.
    """
    columns = [c for c in fmt.columns if c.name in present]
    numeric = [c for c in columns if c.kind in NUMERIC_KINDS]
    tests = []
    if numeric:
        # One regex over all the numeric cells (one regex call costs about as much as ten casts).
        joined = "concat(" + ", '|', ".join(f"s.{c.name}" for c in numeric) + ", '|')"
        # Compact on purpose: one repeated group runs several times faster than one per cell.
        # It lets an empty cell through; the NULL it casts to fails the required ranges below.
        pattern = r"^(([0-9]+(\.[0-9]+)?)?\|)+$"
        tests.append(f"{joined} ~ {literal(pattern)}")
    ranges = [_quick_range(c) for c in numeric]
    others = [_quick_other(c) for c in columns if c.kind not in NUMERIC_KINDS]
    guarded = " AND ".join(r for r in ranges + others if r) or "true"
    if not tests:
        return f"({guarded})"
    # The casts only run once the regex has vouched for every numeric cell.
    return f"(CASE WHEN {tests[0]} THEN {guarded} ELSE false END)"


def _quick_range(column: Column) -> str:
    cell, decimals = f"s.{column.name}", NUMERIC_KINDS[column.kind]
    if column.kind == "integer":
        parts = [_quick_integer(column, cell)]
    else:
        # Decimals are counted on the text, so each cell is cast to numeric only once.
        dot = f"strpos({cell}, '.')"
        parts = [f"({dot} = 0 OR length({cell}) - {dot} <= {decimals})"]
        if column.high is not None:
            low = column.low or 0
            parts.append(f"nullif({cell}, '')::numeric BETWEEN {low} AND {column.high}")
    test = " AND ".join(parts)
    return test if column.required else f"(coalesce({cell}, '') = '' OR ({test}))"


def _quick_integer(column: Column, cell: str) -> str:
    """Whole numbers compared as text (no cast): digits only, no leading zero, within bounds.

    Same-length digit strings order like their numbers (byte order, COLLATE "C"); shorter
    ones are smaller. A leading zero is left to the full check, which reads it as a number.
    """
    if column.choices:
        return f"{cell} IN ({', '.join(literal(c) for c in column.choices)})"
    parts = [f"strpos({cell}, '.') = 0", f"(length({cell}) = 1 OR left({cell}, 1) <> '0')"]
    if column.high is not None:
        high = str(column.high)
        parts.append(
            f"(length({cell}) < {len(high)}"
            f' OR (length({cell}) = {len(high)} AND {cell} COLLATE "C" <= {literal(high)}))'
        )
    if column.low:
        low = str(column.low)
        parts.append(
            f"(length({cell}) > {len(low)}"
            f' OR (length({cell}) = {len(low)} AND {cell} COLLATE "C" >= {literal(low)}))'
        )
    return " AND ".join(parts)


def _quick_other(column: Column) -> str:
    cell = f"s.{column.name}"
    parts = [f"length({cell}) <= {column.max_length}"]
    if column.kind == "text":
        parts.append(f"{cell} = btrim({cell})")
    if column.kind == "email":
        parts.append(f"{cell} ~ {literal(EMAIL_PATTERN)}")
    if column.choices:
        parts.append(f"{cell} IN ({', '.join(literal(c) for c in column.choices)})")
    if column.kind == "date":
        parts.append(f"{cell} ~ {literal(DATE_PATTERN)} AND import_date({cell}) IS NOT NULL")
    if column.kind == "flag":
        parts.append(f"lower({cell}) IN ({', '.join(literal(f) for f in FLAGS)})")
    test = " AND ".join(parts)
    if column.required:
        return f"({cell} <> '' AND {test})"
    return f"({cell} IS NULL OR {cell} = '' OR ({test}))"
