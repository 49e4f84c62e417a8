"""Course module 06 (§6.1, §6.2): GitHub login against a local OAuth 2 provider (tests/fakes/github_oauth.py)."""

from __future__ import annotations

import itertools
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import register
from tests.fakes.github_oauth import FakeGitHub, GitHubUser

FRONT_END_CALLBACK = "http://front.test/auth/authorize/github"
_ids = itertools.count(1000)


@pytest.fixture(scope="module")
def github():
    server = FakeGitHub().start()
    yield server
    server.stop()


@pytest.fixture
def oauth(app, github, monkeypatch):
    for key, value in github.settings(FRONT_END_CALLBACK).items():
        monkeypatch.setitem(app.config, key, value)
    return github


def github_user(email: str | None = None, verified: bool = True, primary: bool = True) -> GitHubUser:
    number = next(_ids)
    email = email or f"gh-{uuid.uuid4().hex[:10]}@example.com"
    return GitHubUser(id=number, login=f"octo{number}", name=f"Octo {number}",
                      emails=[{"email": email, "primary": primary, "verified": verified}])


def provider_redirect(client, github: FakeGitHub, user: GitHubUser) -> tuple[str, str]:
    """Course 6.1, then the browser at the provider: → (code, state) the front end receives."""
    github.next_user = user
    response = client.get("/oauth/github")
    assert response.status_code == 200, response.get_json()
    url = response.get_json()["data"]["redirect_url"]
    at_provider = httpx.get(url, follow_redirects=False)
    assert at_provider.status_code == 302
    location = at_provider.headers["location"]
    assert location.startswith(FRONT_END_CALLBACK)
    query = parse_qs(urlsplit(location).query)
    return query["code"][0], query["state"][0]


def login(client, github, user) -> dict:
    code, state = provider_redirect(client, github, user)
    response = client.post("/oauth/authorize/github", json={"code": code, "state": state})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def account_of(client, token: str) -> dict:
    response = client.get("/account", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return response.get_json()["data"]


def test_redirect_url_doc_example(client, oauth):
    body = client.get("/oauth/github").get_json()  # GET:/oauth/github
    assert body["code"] == "success" and body["message"] == ""
    url = urlsplit(body["data"]["redirect_url"])
    query = parse_qs(url.query)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{oauth.base_url}/login/oauth/authorize"
    assert query["client_id"] == [oauth.client_id] and query["redirect_uri"] == [FRONT_END_CALLBACK]
    assert query["scope"] == ["user:email"] and query["response_type"] == ["code"] and len(query["state"][0]) >= 20


def test_new_github_user_gets_an_account_and_the_same_one_next_time(client, oauth):
    user = github_user()
    data = login(client, oauth, user)
    assert {"access_token", "expire_at"} <= set(data) and isinstance(data["expire_at"], int)
    account = account_of(client, data["access_token"])
    assert account["email"] == user.emails[0]["email"] and account["name"] == user.name
    assert account["avatar"] == user.avatar_url
    user.emails[0]["email"] = f"changed-{uuid.uuid4().hex[:6]}@example.com"  # the link is by GitHub id
    assert account_of(client, login(client, oauth, user)["access_token"])["id"] == account["id"]
    assert oauth.token_requests[-1]["redirect_uri"] == FRONT_END_CALLBACK


def test_existing_account_is_linked_by_verified_primary_email(client, oauth):
    headers = register(client, "Ada")
    existing = client.get("/account", headers=headers).get_json()["data"]
    data = login(client, oauth, github_user(email=headers["X-Email"].upper()))
    assert account_of(client, data["access_token"])["id"] == existing["id"]


@pytest.mark.parametrize("verified, primary", [(False, True), (True, False)])
def test_unverified_or_non_primary_email_is_refused(client, oauth, verified, primary):
    headers = register(client, "Victim")
    user = github_user(email=headers["X-Email"], verified=verified, primary=primary)
    code, state = provider_redirect(client, oauth, user)
    response = client.post("/oauth/authorize/github", json={"code": code, "state": state})
    assert response.status_code == 403 and "verified" in response.get_json()["message"]
    # nothing was linked: a later login with a verified e-mail still decides
    user.emails = [{"email": headers["X-Email"], "primary": True, "verified": True}]
    victim = client.get("/account", headers=headers).get_json()["data"]
    assert account_of(client, login(client, oauth, user)["access_token"])["id"] == victim["id"]


def test_state_is_checked(client, oauth):
    code, state = provider_redirect(client, oauth, github_user())
    missing = client.post("/oauth/authorize/github", json={"code": code})
    assert missing.status_code == 422 and "state" in missing.get_json()["data"]
    forged = client.post("/oauth/authorize/github", json={"code": code, "state": "forged-state"})
    assert forged.status_code == 422 and "state" in forged.get_json()["data"]
    assert client.post("/oauth/authorize/github", json={"code": code, "state": state}).status_code == 200
    replay = client.post("/oauth/authorize/github", json={"code": code, "state": state})
    assert replay.status_code == 422 and "state" in replay.get_json()["data"]


def test_state_of_another_provider_flow_or_bad_code(client, oauth):
    _, state = provider_redirect(client, oauth, github_user())
    response = client.post("/oauth/authorize/github", json={"code": "not-a-code", "state": state})
    assert response.status_code == 400 and "code" in response.get_json()["data"]
    assert client.post("/oauth/authorize/github", json={"state": state}).status_code == 422


def test_code_only_doc_example_when_state_is_not_required(app, client, oauth, monkeypatch):
    monkeypatch.setitem(app.config, "OAUTH_STATE_REQUIRED", False)
    code, _ = provider_redirect(client, oauth, github_user())
    response = client.post("/oauth/authorize/github", json={"code": code})  # the course's request example
    assert response.status_code == 200 and response.get_json()["data"]["access_token"]
    forged = client.post("/oauth/authorize/github", json={"code": code, "state": "forged"})
    assert forged.status_code == 422  # a state that is sent is always checked


def test_closed_registration_refuses_new_accounts_but_links_existing(app, client, oauth, monkeypatch):
    headers = register(client, "Member")
    monkeypatch.setitem(app.config, "REGISTRATION", "closed")
    code, state = provider_redirect(client, oauth, github_user())
    response = client.post("/oauth/authorize/github", json={"code": code, "state": state})
    assert response.status_code == 403 and "registration" in response.get_json()["message"]
    assert login(client, oauth, github_user(email=headers["X-Email"]))["access_token"]


def test_unknown_and_unconfigured_providers(app, client, monkeypatch):
    unknown = client.get("/oauth/google")
    assert unknown.status_code == 404 and "google" in unknown.get_json()["message"]
    assert client.post("/oauth/authorize/google", json={"code": "x"}).status_code == 404
    monkeypatch.setitem(app.config, "GITHUB_CLIENT_ID", None)
    response = client.get("/oauth/github")
    assert response.status_code == 400 and "GITHUB_CLIENT_ID" in response.get_json()["message"]


def test_unreachable_provider_is_502(app, client, oauth, monkeypatch):
    code, state = provider_redirect(client, oauth, github_user())
    monkeypatch.setitem(app.config, "GITHUB_TOKEN_URL", "http://127.0.0.1:9/login/oauth/access_token")
    response = client.post("/oauth/authorize/github", json={"code": code, "state": state})
    assert response.status_code == 502


def test_disabled_account_cannot_log_in_through_github(app, client, oauth):
    from llmops.services.core import account_service

    user = github_user()
    account = account_of(client, login(client, oauth, user)["access_token"])
    with app.app_context():
        account_service.set_disabled(uuid.UUID(account["id"]), True)
    code, state = provider_redirect(client, oauth, user)
    response = client.post("/oauth/authorize/github", json={"code": code, "state": state})
    assert response.status_code == 403 and "disabled" in response.get_json()["message"]


def test_invite_registration_takes_an_invite_code(app, client, oauth, monkeypatch):
    from llmops.services.core import invite_service

    monkeypatch.setitem(app.config, "REGISTRATION", "invite")
    code, state = provider_redirect(client, oauth, github_user())
    refused = client.post("/oauth/authorize/github", json={"code": code, "state": state})
    assert refused.status_code == 403 and "invite_code" in refused.get_json()["data"]
    with app.app_context():
        invite = invite_service.generate(1)[0]
    code, state = provider_redirect(client, oauth, github_user())
    response = client.post("/oauth/authorize/github", json={"code": code, "state": state, "invite_code": invite})
    assert response.status_code == 200, response.get_json()


def test_the_document_example_callback_path(client, oauth):
    """The course document's request example posts the code to ``/oauth/callback/github``."""
    code, state = provider_redirect(client, oauth, github_user(f"cb-{uuid.uuid4().hex[:8]}@example.com"))
    response = client.post("/oauth/callback/github", json={"code": code, "state": state})
    assert response.status_code == 200 and response.get_json()["data"]["access_token"]
