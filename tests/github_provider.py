"""A GitHub-shaped OAuth 2.0 server on localhost, for testing sign-in with GitHub.

GitHub speaks plain OAuth 2.0 (no OpenID Connect): the browser goes to
`/login/oauth/authorize`, our server swaps the code at `/login/oauth/access_token`, then asks
the REST API who this is (`/user`) and which emails are verified (`/user/emails`). This serves
those paths with Authlib's server side (the authorization-code grant, PKCE required) on its own
thread; whoever is `signed_in` approves at once. Nothing of our client is mocked.
"""

import secrets
import threading
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from tests.oidc_provider import Client, Code


class GitHub:
    """`url` (GITHUB_URL), `api_url` (GITHUB_API_URL), `client_id`, `client_secret`; set
    `signed_in` to {"id": int, "login": str, "emails": [{"email", "primary", "verified"}]}."""

    def __init__(self, redirect_uri: str):
        self.client_id, self.client_secret = "github-test-client", secrets.token_urlsafe(24)
        self.client = Client(
            self.client_id, self.client_secret, redirect_uri, scopes=("read:user", "user:email")
        )
        self.codes, self.tokens = {}, {}
        self.signed_in = None
        self.app = self._build()

    def _build(self) -> Flask:
        app = Flask("github")
        github = self

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code, request):
                payload = request.payload
                github.codes[code] = Code(
                    redirect_uri=payload.redirect_uri,
                    scope=payload.scope,
                    auth_time=int(time.time()),
                    user=request.user,
                    code_challenge=payload.data.get("code_challenge"),
                    code_challenge_method=payload.data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code, client):
                return github.codes.get(code)

            def delete_authorization_code(self, authorization_code):
                for code, stored in list(github.codes.items()):
                    if stored is authorization_code:
                        del github.codes[code]

            def authenticate_user(self, authorization_code):
                return authorization_code["user"]

        def save_token(token, request):
            github.tokens[token["access_token"]] = request.user

        server = AuthorizationServer(
            app,
            query_client=lambda cid: github.client if cid == github.client_id else None,
            save_token=save_token,
        )
        server.register_grant(CodeGrant, [CodeChallenge(required=True)])

        @app.get("/login/oauth/authorize")
        def authorize():
            return server.create_authorization_response(grant_user=github.signed_in)

        @app.post("/login/oauth/access_token")
        def access_token():
            return server.create_token_response()

        def person():
            kind, _, secret = request.headers.get("Authorization", "").partition(" ")
            return github.tokens.get(secret) if kind.lower() in ("bearer", "token") else None

        @app.get("/api/user")
        def user():
            who = person()
            if who is None:
                return jsonify(message="Bad credentials"), 401
            return jsonify(id=who["id"], login=who["login"], email=None)

        @app.get("/api/user/emails")
        def emails():
            who = person()
            return (
                (jsonify(who["emails"]), 200) if who else (jsonify(message="Bad credentials"), 401)
            )

        return app

    def start(self) -> "GitHub":
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.api_url = f"{self.url}/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
