"""The passkey endpoints refuse what is not a passkey answer (the browser journey in
tests/e2e/test_passkeys.py covers the real ones, made by Chromium's virtual authenticator)."""

import json

from app.models import Role
from tests.factories import UserFactory


def test_options_are_for_known_purposes_and_registering_needs_a_person(client):
    assert client.post("/passkeys/options?for=steal").status_code == 400
    assert client.post("/passkeys/options?for=register").status_code == 401
    options = client.post("/passkeys/options?for=signin")
    assert options.status_code == 200 and len(options.json["challenge"]) >= 43  # ≥ 32 bytes


def test_junk_and_replayed_answers_sign_nobody_in(client):
    UserFactory(role=Role.LENDER)
    client.post("/passkeys/options?for=signin")
    for junk in ("", "{}", json.dumps({"rawId": "AAAA", "id": "AAAA", "response": {}}), "[1]"):
        answer = client.post("/passkeys/signin", json={"credential": junk})
        assert answer.status_code == 422 and "error" in answer.json
    assert client.get("/lender/").status_code == 302


def test_the_second_step_needs_someone_half_signed_in(client):
    answer = client.post("/passkeys/second-step", json={"credential": "{}"})
    assert answer.status_code == 422
