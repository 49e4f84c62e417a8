"""The gateway's admin CLI: create-api-key, redeem-codes, usage-report, cleanup-logs."""

import re

from tests.api.test_gateway import MODEL, flush, sdk


def test_gateway_cli_commands(app, client, auth, fake):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["llmops", "create-api-key", auth["X-Email"], "--quota", "100", "--model", MODEL])
    assert created.exit_code == 0, created.output
    plain = created.output.strip()
    assert plain.startswith("sk-llmops-")
    sdk(app, plain).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=5)
    flush(app)

    codes = runner.invoke(args=["llmops", "redeem-codes", "--count", "3", "--quota", "50"])
    lines = codes.output.strip().splitlines()
    assert codes.exit_code == 0 and len(lines) == 3 and all(re.fullmatch(r"([A-Z2-9]{4}-){5}[A-Z2-9]{4}", c) for c in lines)
    headers = {"Authorization": f"Bearer {plain}", "X-Forwarded-For": "x"}
    assert client.post("/api/redeem", json={"code": lines[0]}, headers=headers,
                       environ_base={"REMOTE_ADDR": "10.9.9.9"}).get_json()["data"]["balance"] == 50

    report = runner.invoke(args=["llmops", "usage-report", auth["X-Email"]])
    rows = report.output.strip().splitlines()
    assert report.exit_code == 0 and rows[0].startswith("day\tapi_key_id") and rows[1].split("\t")[2] == "1"
    cleaned = runner.invoke(args=["llmops", "cleanup-logs"])
    assert cleaned.exit_code == 0 and "usage-log row(s) deleted" in cleaned.output
    missing = runner.invoke(args=["llmops", "create-api-key", "nobody@example.com"])
    assert missing.exit_code == 1 and "no account with the e-mail" in missing.output


def test_create_api_key_imports_an_existing_key(app, client, auth, fake):
    import uuid

    runner = app.test_cli_runner()
    existing = f"sk-oneapi-{uuid.uuid4().hex}"
    imported = runner.invoke(args=["llmops", "create-api-key", auth["X-Email"], "--key", existing])
    assert imported.exit_code == 0 and imported.output.strip() == existing
    result = sdk(app, existing).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    assert result.choices[0].message.content == "Hello, world!"
    again = runner.invoke(args=["llmops", "create-api-key", auth["X-Email"], "--key", existing])
    assert again.exit_code == 1 and "already exists" in again.output
    short = runner.invoke(args=["llmops", "create-api-key", auth["X-Email"], "--key", "sk-short"])
    assert short.exit_code == 1 and "20 to 200" in short.output
