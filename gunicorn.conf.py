"""gunicorn's settings for this app (gunicorn reads this file from the working directory).

Access logs, when turned on (`--access-logfile -`), record the path without its query string:
a password-reset link carries its one-time token in the query, and a log is not a mailbox.
"""

access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'
