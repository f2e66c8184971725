"""A real OpenID Connect provider on localhost, for testing sign-in with Google.

Built from Authlib's server side (the authorization-code grant with PKCE, the OpenID Connect
extension signing RS256 ID tokens, a discovery document, JWKS, userinfo), serving over HTTP on
its own thread. Whoever is `signed_in` approves at once; nothing of our client is mocked.
"""

import secrets
import threading
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify, request
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server


class Client:
    def __init__(self, client_id, secret, redirect_uri, scopes=("openid", "email", "profile")):
        self.client_id, self.client_secret, self.redirect_uri = client_id, secret, redirect_uri
        self.scopes = scopes

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uri

    def get_allowed_scope(self, scope):
        return " ".join(s for s in (scope or "").split() if s in self.scopes)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri == self.redirect_uri

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


class Code(dict):
    def __getattr__(self, name):  # PKCE reads code.code_challenge
        try:
            return self[name]
        except KeyError as error:
            raise AttributeError(name) from error

    def get_redirect_uri(self):
        return self["redirect_uri"]

    def get_scope(self):
        return self["scope"]

    def get_nonce(self):
        return self.get("nonce")

    def get_auth_time(self):
        return self["auth_time"]

    def get_acr(self):
        return None

    def get_amr(self):
        return None


class Provider:
    """`url`, `client_id`, `client_secret`; set `signed_in` to the person who approves."""

    def __init__(self, redirect_uri: str):
        self.client_id, self.client_secret = "test-client", secrets.token_urlsafe(24)
        self.client = Client(self.client_id, self.client_secret, redirect_uri)
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.codes, self.tokens = {}, {}
        self.signed_in = None  # {"sub", "email", "email_verified"}
        self.app = self._build()

    def _build(self) -> Flask:
        app = Flask("oidc-provider")
        provider = self

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code, request):
                payload = request.payload
                provider.codes[code] = Code(
                    redirect_uri=payload.redirect_uri,
                    scope=payload.scope,
                    nonce=payload.data.get("nonce"),
                    auth_time=int(time.time()),
                    user=request.user,
                    code_challenge=payload.data.get("code_challenge"),
                    code_challenge_method=payload.data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code, client):
                return provider.codes.get(code)

            def delete_authorization_code(self, authorization_code):
                for code, stored in list(provider.codes.items()):
                    if stored is authorization_code:
                        del provider.codes[code]

            def authenticate_user(self, authorization_code):
                return authorization_code["user"]

        class OpenID(OpenIDCode):
            def exists_nonce(self, nonce, request):
                return any(code.get("nonce") == nonce for code in provider.codes.values())

            def resolve_client_private_key(self, client):
                return provider.key

            def get_client_claims(self, client):
                return {"iss": provider.url, "aud": [client.get_client_id()]}

            def generate_user_info(self, user, scope):
                return UserInfo(user)

        def save_token(token, request):
            provider.tokens[token["access_token"]] = request.user

        server = AuthorizationServer(
            app,
            query_client=lambda cid: provider.client if cid == provider.client_id else None,
            save_token=save_token,
        )
        server.register_grant(CodeGrant, [OpenID(require_nonce=True), CodeChallenge(required=True)])

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(
                issuer=provider.url,
                authorization_endpoint=f"{provider.url}/authorize",
                token_endpoint=f"{provider.url}/token",
                userinfo_endpoint=f"{provider.url}/userinfo",
                jwks_uri=f"{provider.url}/jwks",
                response_types_supported=["code"],
                subject_types_supported=["public"],
                id_token_signing_alg_values_supported=["RS256"],
                code_challenge_methods_supported=["S256"],
            )

        @app.get("/authorize")
        def authorize():
            return server.create_authorization_response(grant_user=provider.signed_in)

        @app.post("/token")
        def token():
            return server.create_token_response()

        @app.get("/jwks")
        def jwks():
            return jsonify(KeySet([provider.key]).as_dict(private=False))

        @app.get("/userinfo")
        def userinfo():
            bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
            user = provider.tokens.get(bearer)
            return (jsonify(user), 200) if user else (jsonify(error="invalid_token"), 401)

        return app

    def start(self) -> "Provider":
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
