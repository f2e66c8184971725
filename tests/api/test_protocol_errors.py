"""Hole 7: errors keep what HTTP says with them, and a change of nothing is not a success.

The probe saw 405s without `Allow` (the JSON error handler dropped Werkzeug's headers) and
`PUT /api/v1/users/profile` with no body answer 200.
"""

import pytest

from app.models import Role
from tests.factories import UserFactory


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/users/profile", {"GET", "PUT"}),
        ("PATCH", "/api/v1/investments", {"POST"}),
        ("PUT", "/login", {"GET", "POST"}),
        ("DELETE", "/password/forgot", {"GET", "POST"}),
    ],
)
def test_a_405_says_which_methods_are_allowed(client, method, path, allowed):
    answer = client.open(path, method=method)
    assert answer.status_code == 405
    assert allowed <= {name.strip() for name in answer.headers["Allow"].split(",")}
    if path.startswith("/api/"):
        assert answer.is_json and answer.json["error"] == "method_not_allowed"


def test_putting_no_profile_changes_is_refused(api):
    user = UserFactory(role=Role.LENDER, first_name="Ada")
    client = api(user)
    headers = {"Authorization": f"Bearer {client.token}"}
    for body in ({}, None):
        answer = client.client.put("/api/v1/users/profile", json=body, headers=headers)
        assert answer.status_code == 422, answer.json
        assert answer.json["error"] == "validation_failed"
    empty = client.client.put("/api/v1/users/profile", headers=headers)  # no body at all
    assert empty.status_code == 422
    assert client.put("/users/profile", {"firstName": "Ada Maria"}).status_code == 200
    assert client.get("/users/profile").json["firstName"] == "Ada Maria"
