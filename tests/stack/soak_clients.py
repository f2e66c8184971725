"""Simulated people for the soak test: lenders through the web pages (sign in, deposit, invest,
withdraw), borrowers through the JSON API (pay, apply), all through nginx.

Each money request carries an idempotency key. A client that gets no clear answer (a 5xx, a
dropped connection) asks again under the same key, as a real client should, until it gets one;
what it finally heard is its Outcome. Every client also keeps its own plain account of what it
believes happened (cash in, cash out, notes bought, payments made), which the soak compares with
the database afterwards.
"""

import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import requests

CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)
APPLICATION = {
    "amount": "6000.00", "termMonths": 36, "purpose": "credit_card", "annualIncome": "72000.00",
    "monthlyDebt": "900.00", "creditScore": 712, "creditHistoryMonths": 120,
    "revolvingBalance": "8000.00", "revolvingUtilization": "42.0", "inquiries6m": 1,
    "delinquencies2y": 0, "publicRecords": 0,
}  # fmt: skip
PATIENCE_SECONDS = 60  # how long a client keeps asking again without a clear answer


@dataclass
class Outcome:
    kind: str
    user_id: int
    key: str | None
    result: str  # "done", "refused" or "unknown" (never a clear answer)
    started: float
    seconds: float
    statuses: list = field(default_factory=list)  # (when, status) of every answer; 0: none


@dataclass
class Ledger:
    """What one client believes it did (the oracle for the reconciliation)."""

    deposited: Decimal = Decimal("0.00")
    withdrawn: Decimal = Decimal("0.00")
    invested: Decimal = Decimal("0.00")
    paid: Decimal = Decimal("0.00")


class Client(threading.Thread):
    def __init__(self, base: str, person: dict, stop: threading.Event, seed: int):
        super().__init__(daemon=True)
        self.base, self.person, self.stop_event = base, person, stop
        self.chance = random.Random(seed)
        self.http = requests.Session()
        self.outcomes: list[Outcome] = []
        self.ledger = Ledger()
        self.csrf = None

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.act()
            time.sleep(self.chance.uniform(0.05, 0.3))

    # --- one request, asked again until it has a clear answer ---------------------------

    def ask(self, kind: str, key: str | None, send, *, done):
        started, statuses = time.monotonic(), []
        while True:
            try:
                answer = send()
                status = answer.status_code
            except requests.RequestException:
                answer, status = None, 0
            statuses.append((time.monotonic(), status))
            clear = status != 0 and status < 500
            out_of_time = time.monotonic() - started > PATIENCE_SECONDS
            if clear or out_of_time or self.stop_event.is_set() and not key:
                break
            time.sleep(0.5)
        result = ("done" if done(answer) else "refused") if clear else "unknown"
        self.outcomes.append(Outcome(kind, self.person["id"], key, result, started,
                                     time.monotonic() - started, statuses))  # fmt: skip
        return result


class Lender(Client):
    """A lender on the web pages: signs in once, then deposits, invests and withdraws."""

    def act(self) -> None:
        if self.csrf is None:
            self.sign_in()
            return
        action = self.chance.choices(["deposit", "invest", "withdraw"], [2, 5, 1])[0]
        getattr(self, action)()

    def sign_in(self) -> None:
        def send():
            page = self.http.get(f"{self.base}/login", timeout=10)
            token = _csrf(page.text)
            return self.http.post(
                f"{self.base}/login", allow_redirects=False, timeout=10,
                data={"email": self.person["email"], "password": self.person["password"],
                      "csrf_token": token},
            )  # fmt: skip

        def signed_in(answer) -> bool:
            if answer.status_code != 303:
                return False
            page = self.http.get(f"{self.base}/lender/", timeout=10)
            self.csrf = _csrf(page.text) if page.status_code == 200 else None
            return self.csrf is not None

        self.ask("sign_in", None, send, done=signed_in)

    def _post(self, path: str, kind: str, amount: Decimal, done=(302, 303)) -> str:
        key = uuid.uuid4().hex
        data = {"amount": f"{amount:.2f}", "idempotency_key": key, "confirmed": "yes",
                "csrf_token": self.csrf}  # fmt: skip
        return self.ask(
            kind, key,
            lambda: self.http.post(f"{self.base}{path}", data=data, allow_redirects=False, timeout=15),
            done=lambda answer: answer.status_code in done,
        )  # fmt: skip

    def deposit(self) -> None:
        amount = Decimal(self.chance.randint(10, 200))
        if self._post("/lender/deposits", "deposit", amount) == "done":
            self.ledger.deposited += amount

    def invest(self) -> None:
        loan = self.chance.choice(self.person["listings"])
        amount = Decimal("25.00")
        # The note is shown on the loan's page (200); a refusal is the form again (422).
        if self._post(f"/lender/loans/{loan}/investments", "invest", amount, done=(200,)) == "done":
            self.ledger.invested += amount

    def withdraw(self) -> None:
        amount = Decimal(self.chance.randint(5, 40))
        if self._post("/lender/withdrawals", "withdraw", amount) == "done":
            self.ledger.withdrawn += amount


class Borrower(Client):
    """A borrower on the JSON API: pays towards an issued loan, now and then applies again."""

    def act(self) -> None:
        if self.chance.random() < 0.1:
            self.apply()
        else:
            self.pay()

    def _headers(self, key: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.person['token']}"}
        return {**headers, "Idempotency-Key": key} if key else headers

    def pay(self) -> None:
        key, amount = uuid.uuid4().hex, Decimal(self.chance.randint(5, 30))
        body = {"loanId": self.person["loan_id"], "amount": f"{amount:.2f}"}
        result = self.ask(
            "pay", key,
            lambda: self.http.post(f"{self.base}/api/v1/payments", json=body,
                                   headers=self._headers(key), timeout=15),
            done=lambda answer: answer.status_code == 201,
        )  # fmt: skip
        if result == "done":
            self.ledger.paid += amount

    def apply(self) -> None:
        key = uuid.uuid4().hex  # asked again under it until the answer is clear: made once
        self.ask(
            "apply", key,
            lambda: self.http.post(f"{self.base}/api/v1/loans", json=APPLICATION,
                                   headers=self._headers(key), timeout=15),
            done=lambda answer: answer.status_code == 201,
        )  # fmt: skip


def _csrf(page: str) -> str | None:
    found = CSRF.search(page)
    return (found.group(1) or found.group(2)) if found else None
