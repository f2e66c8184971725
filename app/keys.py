"""One key per purpose, derived from SECRET_KEY, with old keys kept for verification.

Sessions, CSRF tokens, password-reset links and sign-up links each sign with a key of their
own (HMAC-SHA256 of SECRET_KEY and the purpose), so a value made for one purpose can never
pass as another, and no key in use is SECRET_KEY itself. To rotate, set the new SECRET_KEY and
move the old one to SECRET_KEY_FALLBACKS (comma-separated): what the old keys signed still
verifies (sessions stay signed in, emailed links keep working), everything new is signed with
the new key; drop the fallback once the longest-lived value has expired (a session's lifetime).
"""

import hashlib
import hmac

from flask import Flask, current_app

PURPOSES = ("session", "csrf", "password-reset", "confirm-email", "sealing")


def derive(secret: str, purpose: str) -> str:
    """The key for `purpose` under `secret`."""
    return hmac.new(
        secret.encode(), f"communitylend/{purpose}".encode(), hashlib.sha256
    ).hexdigest()


def install(app: Flask) -> None:
    """Replace the master key in the config by the keys derived from it (and from the old
    ones): Flask signs sessions with SECRET_KEY (old ones in SECRET_KEY_FALLBACKS), Flask-WTF
    CSRF tokens with WTF_CSRF_SECRET_KEY; `signing_keys` serves the emailed links."""
    master = app.config["SECRET_KEY"]
    old = [key for key in app.config.get("SECRET_KEY_FALLBACKS") or [] if key]
    app.config["SIGNING_KEYS"] = {
        purpose: [derive(key, purpose) for key in (*old, master)] for purpose in PURPOSES
    }
    app.config["SECRET_KEY"] = derive(master, "session")
    app.config["SECRET_KEY_FALLBACKS"] = [derive(key, "session") for key in old]
    app.config["WTF_CSRF_SECRET_KEY"] = derive(master, "csrf")


def signing_keys(purpose: str) -> list[str]:
    """Keys for `purpose`, oldest first: itsdangerous signs with the last, verifies with any."""
    return current_app.config["SIGNING_KEYS"][purpose]
