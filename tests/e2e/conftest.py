"""A live server (the dev entry point, on the test database) and real headless Chromium."""

import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from tests.helpers import PASSWORD, live_server_environment
from tests.mailbox import Inbox

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    """Through the real form; returns once the signed-in page is there."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def mailed_link(mailbox, email: str, path: str) -> str:
    """The link to `path` in the email `email` received, once the live server has sent it."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for index, (recipients, _) in enumerate(mailbox.messages):
            found = re.search(rf"https?://\S+{re.escape(path)}\S*", mailbox.text_of(index))
            if recipients == [email] and found:
                return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no email with {path} reached {email}")


@pytest.fixture(scope="module")
def live_mailbox():
    """A real SMTP server the live server sends its email to (sign-up links, notices)."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture(scope="module")
def live_url(app, live_mailbox):
    """`python -m app.devserver` against the test database, with CSRF and jobs as in dev."""
    yield from _live_server("127.0.0.1", live_mailbox)


@pytest.fixture(scope="module")
def localhost_url(app, live_mailbox):
    """The same on http://localhost: passkeys need a domain, and browsers refuse IP addresses."""
    yield from _live_server("localhost", live_mailbox)


def _live_server(host: str, mailbox):
    port = _free_port()
    environment = live_server_environment(
        port,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(mailbox.port),
        PUBLIC_URL=f"http://{host}:{port}",  # the links in its emails; the passkeys' domain
        LOGIN_RATE_LIMIT="1000 per minute",
        API_MONEY_RATE_LIMIT="10000 per minute",
    )
    # A file, not a pipe: nobody reads a pipe while tests run, and a full one blocks the server.
    log = tempfile.TemporaryFile(mode="w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "app.devserver"],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://{host}:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urlopen(f"{url}/healthz", timeout=2):  # noqa: S310 - our own loopback server
                break
        except OSError:
            if server.poll() is not None:
                log.seek(0)
                pytest.fail(f"live server exited:\n{log.read()[-3000:]}")
            time.sleep(0.3)
    else:
        server.kill()
        pytest.fail("live server did not start within 60 s")
    yield url
    server.terminate()
    server.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (its own browser download is not available here)."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Chromium is not installed: apt-get install -y chromium (.ci/run does this)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture()
def page(request, browser, live_url):
    """A fresh browser page on the live server; a journey marked with
    `@pytest.mark.parametrize("page", ["desktop", "phone"], indirect=True)` runs at both widths."""
    viewport = VIEWPORTS[getattr(request, "param", "desktop")]
    context = browser.new_context(base_url=live_url, viewport=viewport)
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.console_errors = errors
    yield page
    context.close()
