"""gunicorn's settings for this app (gunicorn reads this file from the working directory).

Access logs, when turned on (`--access-logfile -`), record the path without its query string:
a password-reset link carries its one-time token in the query, and a log is not a mailbox.
"""

access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'

# Load the app once, before the port opens: a node restarting refuses connections (nginx sends
# them to another node) until it can answer, instead of queueing them behind workers that are
# still importing. The workers fork from the loaded app and share its memory.
preload_app = True


def post_fork(server, worker):
    """A forked worker must not reuse database connections the master opened while loading
    (production's start-up check reads the database): each process opens its own."""
    from app.extensions import db
    from wsgi import app

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
