"""Hole 1: a password-reset link reaches the recipient's mailbox and nowhere else.

The probe found working reset links on `/admin/jobs` (the stored email body) and on the
victim's `/account/notifications`: any admin could take over any account. Here a real SMTP
server (aiosmtpd) is the mailbox; the token it receives must appear in no table, no page an
admin or the user sees, and no request path.
"""

import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import select

from app.background import jobs
from app.extensions import db
from app.models import OutboxMessage, OutboxStatus, Role
from tests.factories import UserFactory
from tests.helpers import PASSWORD, every_stored_value, live_server_environment
from tests.mailbox import free_port

NEW_PASSWORD = "saffron kayak meridian 58"
ROOT = Path(__file__).resolve().parents[2]


def _mailed_link(inbox) -> str:
    (link,) = re.findall(r"https?://\S+/password/reset\S*", inbox.text_of())
    return link


def _path_of(link: str) -> str:
    """The path and query of an absolute link, as the test client takes it."""
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def _token_of(link: str) -> str:
    return re.search(r"(?:token=|/password/reset/)([\w.-]+)", link).group(1)


def _every_text_value() -> str:
    return every_stored_value(("text", "character varying", "jsonb"))


def test_a_reset_link_is_in_the_mailbox_only(app, client, smtp, login):
    victim = UserFactory(role=Role.ADMIN)
    admin = UserFactory(role=Role.ADMIN)
    client.post("/password/forgot", data={"email": victim.email})
    jobs.relay()
    link = _mailed_link(smtp)
    token = _token_of(link)
    assert len(token) > 20

    assert token not in _every_text_value()  # not in email_messages, notifications, logs
    login(admin)
    jobs_page = client.get("/admin/jobs").get_data(as_text=True)
    assert token not in jobs_page and "password/reset" not in jobs_page
    client.post("/logout")
    login(victim)
    inbox_page = client.get("/account/notifications").get_data(as_text=True)
    assert token not in inbox_page and "password/reset" not in inbox_page
    assert "Set a new password" in inbox_page  # the notice itself is still there


def test_the_mailed_link_works_and_moves_the_token_out_of_the_address(app, client, smtp):
    user = UserFactory(role=Role.LENDER)
    client.post("/password/forgot", data={"email": user.email})
    jobs.relay()
    link = _mailed_link(smtp)
    path = _path_of(link)
    assert "token=" in link and "/password/reset/" not in link  # not in the path

    landing = client.get(path)
    assert landing.status_code == 303  # the token leaves the address bar and history at once
    assert landing.headers["Location"] == "/password/reset"
    form = client.get("/password/reset")
    assert form.status_code == 200 and _token_of(link) not in form.get_data(as_text=True)
    done = client.post("/password/reset", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["Location"].endswith("/login")
    again = client.get(path)
    assert again.status_code == 410  # once only
    assert (
        client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 422
    )


def test_a_failed_send_retries_with_a_working_link_and_stores_none(app, client, smtp, monkeypatch):
    user = UserFactory(role=Role.LENDER)
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())  # nothing listens there
    client.post("/password/forgot", data={"email": user.email})
    jobs.relay()
    job = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "send_email")).one()
    assert job.status is OutboxStatus.PENDING and job.attempts == 1 and smtp.messages == []
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp.port)
    job.available_at = job.created_at
    db.session.flush()
    jobs.relay()
    link = _mailed_link(smtp)
    assert _token_of(link) not in _every_text_value()
    assert client.get(_path_of(link)).status_code == 303


def test_gunicorn_access_logs_leave_the_token_out(app, tmp_path):
    """Through the real server with the project's gunicorn.conf.py: the request is logged, its
    query (where a reset link's token travels) is not."""
    log = tmp_path / "access.log"
    port = free_port()
    environment = live_server_environment(port)
    command = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "1"]
    server = subprocess.Popen(
        [*command, "--access-logfile", str(log), "wsgi:app"], cwd=ROOT, env=environment
    )
    try:
        answer = _get_when_up(f"http://127.0.0.1:{port}/password/reset?token=Sekr3t-t0ken.xyz")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert answer == 410  # no such token: the page says the link expired
    logged = log.read_text()
    assert "GET /password/reset HTTP/1.1" in logged and "Sekr3t" not in logged


def _get_when_up(url: str) -> int:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
