"""The web console (web/) in a real browser against the live stack: Debian's Chromium driven by
playwright-core (web/e2e/run.mjs; no browser download). One test per flow of the console issue;
each saves screenshots under its output folder (pytest's ``tmp_path``, or
``$CONSOLE_E2E_OUTPUT/<test>`` when set) and fails on any browser request that leaves 127.0.0.1.

Needs node, ``web/node_modules`` (``npm ci``) and ``/usr/bin/chromium`` (``make test`` installs
both); the console is built here when ``web/dist`` is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import flask_cli, sql
from tests.fixtures.files import ENGLISH, pdf_bytes

WEB = ROOT / "web"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
KNOWN_SENTENCE = "The Calvin cycle fixes carbon dioxide into sugars inside the chloroplast stroma."
LOCAL_MODEL = "local/smollm2-135m"


@pytest.fixture(scope="session")
def console_build() -> Path:
    """The built console (built now if missing); fails with how to install what is missing."""
    if shutil.which("node") is None or not Path(CHROMIUM).exists() or not (WEB / "node_modules").is_dir():
        pytest.fail("browser tests need node, web/node_modules and Debian's chromium: run `make test` "
                    "(it runs `npm ci` in web/ and `apt-get install chromium fonts-noto-cjk`)")
    if not (WEB / "dist" / "index.html").exists():
        subprocess.run(["npm", "run", "build"], cwd=WEB, check=True, capture_output=True, timeout=600)
    return WEB / "dist"


@pytest.fixture
def out_dir(request, tmp_path) -> Path:
    base = os.environ.get("CONSOLE_E2E_OUTPUT")
    folder = Path(base) / request.node.name if base else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_flow(stack, out_dir: Path, flow: str, **params) -> dict:
    """Run one browser flow → its JSON result (asserts it passed and left 127.0.0.1 never)."""
    config = {"base": stack.api_url, "outDir": str(out_dir), "flow": flow, **params}
    done = subprocess.run(["node", "e2e/run.mjs", json.dumps(config)], cwd=WEB, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "CHROMIUM_PATH": CHROMIUM})
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no result from the browser flow {flow}: {done.stdout[-2000:]} {done.stderr[-2000:]}"
    result = json.loads(lines[-1])
    assert result["ok"], (f"{flow} failed (screenshot {out_dir}/{flow}-failure.png): {result['error']}\n"
                          f"HTTP errors seen: {result.get('httpErrors')}\npage errors: {result['pageErrors']}")
    assert result["external"] == [], result["external"]
    assert result["pageErrors"] == [], result["pageErrors"]
    return result


def test_console_is_served_with_history_fallback(stack, console_build):
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        index = client.get("/")
        assert index.status_code == 200 and '<div id="root">' in index.text
        page = client.get("/console/apps/00000000-0000-0000-0000-000000000000")
        assert page.status_code == 200 and page.text == index.text
        script = next(part.split('"')[0] for part in index.text.split('src="')[1:] if part.startswith("/assets/"))
        asset = client.get(script)
        assert asset.status_code == 200 and "javascript" in asset.headers["Content-Type"]
        api_404 = client.get("/apps/not-an-id")
        assert api_404.status_code == 404 and api_404.json()["code"] == "not_found"
        assert client.get("/v1/nope").json()["error"]["message"]
        assert client.get("/assets/missing.js").status_code == 404


def test_studio_flow(stack, console_build, out_dir):
    """register → create app → configure → a streamed answer from the real model → stop a second
    answer → publish (and the 375 px layout, and an expired session back to sign-in); then the
    editor's tools card binds the clock (a URL fetcher without hosts refused first)."""
    result = run_flow(stack, out_dir, "studio")
    assert result["answer"].strip()
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        token = client.post("/auth/password-login", json={"email": result["email"], "password": "secret123"}) \
            .json()["data"]["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        app = client.get(f"/apps/{result['appId']}", headers=headers).json()["data"]
        assert app["status"] == "published"
        draft = client.get(f"/apps/{result['appId']}/draft-app-config", headers=headers).json()["data"]
        assert draft["preset_prompt"].startswith("You are a friendly assistant")
        assert draft["model_config"]["parameters"]["max_tokens"] == 400 and draft["dialog_round"] == 3
        assert draft["long_term_memory"] == {"enable": True}
        assert [(t["type"], t["provider"]["id"], t["tool"]["id"], t["tool"]["params"]) for t in draft["tools"]] == \
            [("builtin_tool", "time", "current_time", {"default_timezone": "Europe/Paris"})]
        messages = client.get(f"/apps/{result['appId']}/conversations/messages", headers=headers).json()["data"]["list"]
        assert [m["status"] for m in messages][:2] == ["stop", "normal"], messages
    assert (out_dir / "studio-debug-chat.png").exists() and (out_dir / "studio-375px.png").exists()
    assert (out_dir / "studio-tools-card.png").exists()


def test_api_tools_flow(stack, console_build, out_dir):
    """API tools page: create a tool from a schema with a header (masked in the list) → bind its
    operation in an app's tools card → the saved draft has it; deleted from the page, it is gone."""
    secret = f"Bearer secret-{uuid.uuid4().hex[:12]}"
    result = run_flow(stack, out_dir, "apitools", secret=secret)
    assert result["bound"] == ["api_tool:Dictionary/Suggest"]
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        token = client.post("/auth/password-login", json={"email": result["email"], "password": "secret123"}) \
            .json()["data"]["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api-tools", headers=headers).json()["data"]["list"] == []
        draft = client.get(f"/apps/{result['appId']}/draft-app-config", headers=headers).json()["data"]
        assert draft["tools"] == []  # the deleted tool's reference is dropped
    assert (out_dir / "api-tools-list.png").exists() and (out_dir / "api-tool-bound.png").exists()


def test_knowledge_flow(stack, console_build, out_dir, tmp_path):
    """dataset → upload two files → progress reaches completed → hit test finds a known sentence →
    bind to an app → the debug answer shows its sources."""
    files = {"photosynthesis.md": ENGLISH.encode(),
             "tides.pdf": pdf_bytes(["Ocean tides are caused by the gravitational pull of the Moon and the Sun."])}
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    run_flow(stack, out_dir, "knowledge", files=paths, fileNames=list(files), knownSentence=KNOWN_SENTENCE,
             hitQuery="What does the Calvin cycle fix?")
    assert (out_dir / "knowledge-progress.png").exists() and (out_dir / "knowledge-answer-sources.png").exists()


def test_keys_sdk_and_usage_flow(stack, console_build, out_dir):
    """create a key in the console → use it with the openai SDK → the usage chart shows it."""
    import openai

    created = run_flow(stack, out_dir, "keys")
    client = openai.OpenAI(base_url=f"{stack.api_url}/v1", api_key=created["key"], max_retries=0)
    reply = client.chat.completions.create(model="smollm2-135m", max_tokens=16,
                                           messages=[{"role": "user", "content": "Say hi."}])
    assert reply.choices[0].message.content is not None
    shown = run_flow(stack, out_dir, "usage", expectRequests=1, model="smollm2-135m")
    assert shown["total"] == 1 and shown["values"][-1] == 1
    assert (out_dir / "usage-chart.png").exists()


def test_selfservice_redeems_a_cli_code_once(stack, console_build, out_dir):
    """seed 004's page: a key holder redeems a code made by the CLI; the second try is refused."""
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        email = f"ss-{uuid.uuid4().hex[:10]}@example.com"
        token = client.post("/auth/register", json={"name": "Key holder", "email": email, "password": "secret123"}) \
            .json()["data"]["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        key = client.post("/api-keys", json={"remark": "self-service"}, headers=headers).json()["data"]["key"]
        before = client.get("/account", headers=headers).json()["data"]["balance"]
        code = flask_cli(stack, "redeem-codes", "--count", "1", "--quota", "2000000").split()[-1]
        result = run_flow(stack, out_dir, "selfservice", key=key, code=code, model="smollm2-135m")
        after = client.get("/account", headers=headers).json()["data"]["balance"]
    assert after - before == 2_000_000
    assert round(result["after"] - result["before"], 2) == 2.0
    assert (out_dir / "selfservice-redeemed.png").exists()


def test_admin_switches_the_active_model(stack, console_build, out_dir):
    """an admin switches the active language model; a new app starts on it (switched back after)."""
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        assert client.post("/auth/register", json={"name": "Admin", "email": email, "password": "secret123"}) \
            .status_code == 201
        sql(stack, "UPDATE account SET is_admin = true WHERE email = :email", email=email)
        try:
            result = run_flow(stack, out_dir, "admin", email=email, password="secret123", model="ollama/llama3.2",
                              restoreModel=LOCAL_MODEL)
        finally:
            token = client.post("/auth/password-login", json={"email": email, "password": "secret123"}) \
                .json()["data"]["access_token"]
            client.post("/admin/models/active", headers={"Authorization": f"Bearer {token}"},
                        json={"kind": "language", "provider": "local", "model": "smollm2-135m"})
    assert "llama3.2" in result["shown"]
    assert (out_dir / "admin-active-model.png").exists() and (out_dir / "admin-new-app-model.png").exists()
