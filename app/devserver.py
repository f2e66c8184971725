"""`make run`: a real PostgreSQL (embedded when DATABASE_URL is unset), migrations, demo data, server."""

import atexit
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

INSTANCE = Path(__file__).resolve().parent.parent / "instance"
# Set once the demo book is replayed (or not wanted): until then the job thread issues no
# statements, which would describe months the replay has not written yet.
DEMO_BOOK_DONE = threading.Event()
HOST, PORT = "127.0.0.1", int(os.environ.get("PORT", "5000"))


def embedded_database_url() -> str:
    """Start (or reuse) a PostgreSQL server under instance/pgdata and return its URL."""
    import pgserver

    data_dir = INSTANCE / "pgdata"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data_dir), cleanup_mode="stop")
    if "communitylend" not in server.psql("SELECT datname FROM pg_database;"):
        server.psql("CREATE DATABASE communitylend;")
    embedded_database_url.server = server  # keep it alive as long as this process
    # pgserver stops only when no other pid is listed; a killed earlier run leaves its pid
    # behind, so stop the server ourselves on exit (pgserver's own cleanup then finds it down).
    atexit.register(_stop_embedded, server)
    from config import EMBEDDED_DATABASE_URL

    return EMBEDDED_DATABASE_URL


def _stop_embedded(server) -> None:
    from pgserver._commands import pg_ctl

    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
    except Exception as error:  # noqa: BLE001 - already stopped is fine
        print(f"[db] embedded PostgreSQL stop: {error}", file=sys.stderr)


class ConsoleMailbox:
    """Without SMTP_HOST, `make run` mails here: each message is printed where you ran it, so
    sign-up and password links reach the one person who can use them (you)."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        from email import message_from_bytes

        message = message_from_bytes(envelope.content)
        part = next((p for p in message.walk() if p.get_content_type() == "text/plain"), message)
        text = part.get_payload(decode=True).decode(errors="replace")
        print(
            f"\n[mail] to {', '.join(envelope.rcpt_tos)}: {message['Subject']}\n{text}", flush=True
        )
        return "250 OK"


def start_console_mailbox() -> int:
    """A local SMTP server that prints what it receives; returns its port."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(ConsoleMailbox(), hostname="127.0.0.1", port=port)
    controller.start()
    start_console_mailbox.controller = controller  # keep it alive as long as this process
    return port


def build_demo_book(app) -> None:
    """The living demo book (seeds/book.py), replayed after start-up: the site is up at once
    and its pages fill month by month; later runs replay the days since the last one and list
    new applications if its listings have closed since."""
    from app.extensions import db
    from seeds import book, market

    try:
        _replay_demo_book(app, db, book, market)
    finally:
        DEMO_BOOK_DONE.set()  # statements may be issued now: the months they cover are in


def _replay_demo_book(app, db, book, market) -> None:
    with app.app_context():
        building = book.needs_building(db.session)
        if building:
            print(
                "Building the demo book in the background; its pages fill as it goes.", flush=True
            )
        started = time.monotonic()
        try:
            if building:
                lines = book.run(db.session)
            else:
                lines = book.catch_up(db.session) + book.top_up(db.session)
            if not book.needs_building(db.session):
                lines += market.run(db.session)
        except Exception:  # a demo nicety: the app goes on without it
            db.session.rollback()
            logging.getLogger(__name__).exception("The demo book could not be built")
            return
        for line in lines:
            print(f"{line} ({time.monotonic() - started:.0f} s)", flush=True)


def relay_forever(app) -> None:
    """Without Redis, the outbox is drained here, in a thread of the web process."""
    from app.background.jobs import relay
    from app.background.scheduler import STATEMENT_JOBS, tick

    scheduling = os.environ.get("RUN_SCHEDULER", "true").lower() != "false"
    while True:
        try:
            with app.app_context():
                if scheduling:
                    tick(skip=() if DEMO_BOOK_DONE.is_set() else STATEMENT_JOBS)
                relay()
        except Exception as error:  # noqa: BLE001 - keep serving; report and try again
            print(f"[jobs] relay failed: {error}", file=sys.stderr)
        time.sleep(1)


def main() -> None:
    # SIGTERM exits through atexit too, so the embedded PostgreSQL stops with us.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    os.environ.setdefault("APP_ENV", "development")
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = embedded_database_url()
        print("Embedded PostgreSQL running, data in instance/pgdata")
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], check=True)
    from app import create_app
    from app.extensions import db
    from seeds import run as seed

    app = create_app()
    if not app.config["SMTP_HOST"] and not app.config["REDIS_URL"]:  # jobs run in this process
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=start_console_mailbox())
        print("SMTP_HOST not set: emails are printed here (sign-up and password links too)")
    with app.app_context():
        lines = seed(db.session) if app.config["SEED_DEMO_DATA"] else []
    if app.config["SEED_DEMO_DATA"] and app.config["SEED_DEMO_BOOK"]:
        threading.Thread(target=build_demo_book, args=(app,), daemon=True).start()
    else:
        DEMO_BOOK_DONE.set()
    if not app.config["REDIS_URL"]:
        threading.Thread(target=relay_forever, args=(app,), daemon=True).start()
        print("REDIS_URL not set: background jobs run inside this process")
    else:
        print("Jobs go to Redis: run `python worker.py` and `flask --app wsgi jobs relay` too")
    print("\n".join(lines))
    print(f"\nCommunityLend is running on http://{HOST}:{PORT}\n")
    # One line per request is ours (communitylend.access: request id, status, duration);
    # werkzeug's own would repeat it.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app.run(host=HOST, port=PORT, debug=False, use_reloader=False, threaded=True)


if __name__ == "__main__":
    main()
