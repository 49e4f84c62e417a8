"""Account CLI: create-admin (generated password printed once, --password-stdin, --promote),
disable-account, enable-account, revoke-sessions, invite-codes."""

import re
import uuid

from tests.conftest import register


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def login(client, email: str, password: str):
    return client.post("/auth/password-login", json={"email": email, "password": password})


def test_create_admin_prints_a_generated_password_once(app, client):
    runner = app.test_cli_runner()
    email = f"root-{uuid.uuid4().hex[:8]}@example.com"
    created = runner.invoke(args=["llmops", "create-admin", email])
    assert created.exit_code == 0, created.output
    password = re.search(r"^password: (\S+)$", created.output, re.M).group(1)
    assert len(password) >= 24
    token = login(client, email, password).get_json()["data"]["access_token"]
    assert client.get("/admin/models/active", headers=bearer(token)).status_code == 200

    again = runner.invoke(args=["llmops", "create-admin", email.upper()])
    assert again.exit_code == 1 and "already exists" in again.output and "--promote" in again.output
    assert "password" not in again.output


def test_create_admin_reads_the_password_from_stdin(app, client):
    runner = app.test_cli_runner()
    email = f"stdin-{uuid.uuid4().hex[:8]}@example.com"
    created = runner.invoke(args=["llmops", "create-admin", email, "--password-stdin"], input="Chosen-pass42\n")
    assert created.exit_code == 0, created.output
    assert "Chosen-pass42" not in created.output and "password:" not in created.output
    assert login(client, email, "Chosen-pass42").status_code == 200
    weak = runner.invoke(args=["llmops", "create-admin", f"w-{email}", "--password-stdin"], input="short\n")
    assert weak.exit_code == 1 and "password: must be 8 to 64 characters long" in weak.output
    assert login(client, f"w-{email}", "short").status_code == 401


def test_promote_makes_an_existing_account_admin_and_revokes_its_sessions(app, client):
    headers = register(client)
    assert client.get("/admin/models/active", headers=headers).status_code == 403
    promoted = app.test_cli_runner().invoke(args=["llmops", "create-admin", headers["X-Email"], "--promote"])
    assert promoted.exit_code == 0 and "promoted" in promoted.output and "password" not in promoted.output.split(";")[0]
    assert client.get("/account", headers=headers).status_code == 401  # the old token predates the promotion
    token = login(client, headers["X-Email"], "secret123").get_json()["data"]["access_token"]  # password unchanged
    assert client.get("/admin/models/active", headers=bearer(token)).status_code == 200


def test_disable_enable_and_revoke_sessions_commands(app, client):
    runner = app.test_cli_runner()
    headers = register(client)
    email = headers["X-Email"]
    key = client.post("/api-keys", json={"remark": "cli"}, headers=headers).get_json()["data"]["key"]

    disabled = runner.invoke(args=["llmops", "disable-account", email])
    assert disabled.exit_code == 0 and disabled.output.startswith(f"disabled {email}")
    assert client.get("/v1/models", headers=bearer(key)).status_code == 403
    assert client.get("/account", headers=headers).status_code == 403
    assert login(client, email, "secret123").status_code == 403

    enabled = runner.invoke(args=["llmops", "enable-account", email])
    assert enabled.exit_code == 0 and enabled.output.startswith(f"enabled {email}")
    assert client.get("/v1/models", headers=bearer(key)).status_code == 200
    token = login(client, email, "secret123").get_json()["data"]["access_token"]
    assert client.get("/account", headers=bearer(token)).status_code == 200

    revoked = runner.invoke(args=["llmops", "revoke-sessions", email])
    assert revoked.exit_code == 0 and "revoked every session" in revoked.output
    assert client.get("/account", headers=bearer(token)).status_code == 401
    assert client.get("/v1/models", headers=bearer(key)).status_code == 200

    for command in ("disable-account", "enable-account", "revoke-sessions"):
        missing = runner.invoke(args=["llmops", command, "nobody@example.com"])
        assert missing.exit_code == 1 and "no account with the e-mail" in missing.output


def test_invite_codes_command(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTRATION", "invite")
    made = app.test_cli_runner().invoke(args=["llmops", "invite-codes", "--count", "2"])
    codes = made.output.split()
    assert made.exit_code == 0 and len(codes) == 2
    assert all(re.fullmatch(r"INV(-[A-HJ-NP-Z2-9]{4}){4}", code) for code in codes)
    body = {"name": "Cli", "email": f"cli-{uuid.uuid4().hex[:8]}@example.com", "password": "secret123",
            "invite_code": codes[0]}
    assert client.post("/auth/register", json=body).status_code == 201
    assert app.test_cli_runner().invoke(args=["llmops", "invite-codes", "--count", "0"]).exit_code == 2
