"""API test helpers: a token per user, JSON requests with it."""

import uuid

import pytest

from app.extensions import db
from app.services import api_tokens


class ApiClient:
    """The Flask test client speaking JSON with a bearer token (no cookies involved)."""

    def __init__(self, client, token: str | None = None):
        self.client, self.token = client, token

    def _headers(self, extra: dict | None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    def get(self, path: str, **query):
        return self.client.get(f"/api/v1{path}", query_string=query, headers=self._headers(None))

    def post(self, path: str, body=None, headers: dict | None = None):
        return self.client.post(f"/api/v1{path}", json=body, headers=self._headers(headers))

    def put(self, path: str, body=None):
        return self.client.put(f"/api/v1{path}", json=body, headers=self._headers(None))


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
