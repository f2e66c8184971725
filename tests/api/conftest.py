"""API test helpers: a token per user, JSON requests with it."""

import re
import uuid

import pytest
import schemathesis

from app.extensions import db
from app.services.accounts import api_tokens


class ApiClient:
    """The Flask test client speaking JSON with a bearer token (no cookies involved).

    Every response is also checked against the OpenAPI document: status code, content type and
    body schema, so each test here is a contract test with realistic data.
    """

    def __init__(self, client, token: str | None = None):
        self.client, self.token = client, token

    def _checked(self, response):
        adapter = self.client.application.url_map.bind("localhost")
        rule, _ = adapter.match(
            response.request.path, method=response.request.method, return_rule=True
        )
        template = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        operation = _contract(self.client.application)[template][response.request.method]
        operation.validate_response(response)
        return response

    def _headers(self, extra: dict | None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    def get(self, path: str, **query):
        return self._checked(
            self.client.get(f"/api/v1{path}", query_string=query, headers=self._headers(None))
        )

    def post(self, path: str, body=None, headers: dict | None = None):
        return self._checked(
            self.client.post(f"/api/v1{path}", json=body, headers=self._headers(headers))
        )

    def put(self, path: str, body=None):
        return self._checked(
            self.client.put(f"/api/v1{path}", json=body, headers=self._headers(None))
        )

    def delete(self, path: str):
        return self._checked(self.client.delete(f"/api/v1{path}", headers=self._headers(None)))


_CONTRACTS = {}


def _contract(app):
    if app not in _CONTRACTS:
        spec = app.test_client().get("/api/v1/openapi.json").json
        _CONTRACTS[app] = schemathesis.openapi.from_dict(spec)
    return _CONTRACTS[app]


@pytest.fixture()
def api(app):
    """api(user) -> a client signed in as `user` with a fresh token; api() -> anonymous."""

    def make(user=None) -> ApiClient:
        client = app.test_client()
        if user is None:
            return ApiClient(client)
        secret, _ = api_tokens.issue(db.session, user, days=1)
        return ApiClient(client, secret)

    return make


def idem() -> dict:
    return {"Idempotency-Key": str(uuid.uuid4())}
