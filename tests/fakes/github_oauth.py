"""A local stand-in for GitHub's OAuth 2 endpoints, for login tests. Not product code.

``FakeGitHub().start()`` serves on 127.0.0.1: ``GET /login/oauth/authorize`` (approves at once for
``next_user`` and redirects to the ``redirect_uri`` with ``code`` and ``state``), ``POST
/login/oauth/access_token`` (checks client id, secret, code and redirect URI; answers 200 with an
``error`` as GitHub does), and the API's ``GET /user`` and ``GET /user/emails`` for the token.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import Flask, jsonify, redirect, request
from werkzeug.serving import make_server


@dataclass
class GitHubUser:
    id: int
    login: str
    name: str
    emails: list[dict] = field(default_factory=list)  # [{email, primary, verified}]
    avatar_url: str = "https://avatars.example.com/u/1"


class FakeGitHub:
    client_id = "fake-client-id"
    client_secret = "fake-client-secret"

    def __init__(self):
        self.next_user: GitHubUser | None = None
        self.codes: dict[str, tuple[GitHubUser, str | None]] = {}
        self.tokens: dict[str, GitHubUser] = {}
        self.token_requests: list[dict] = []
        self._server = make_server("127.0.0.1", 0, self._app(), threaded=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def settings(self, redirect_uri: str) -> dict:
        """The app settings that point the server at this provider."""
        return {"GITHUB_CLIENT_ID": self.client_id, "GITHUB_CLIENT_SECRET": self.client_secret,
                "GITHUB_REDIRECT_URI": redirect_uri, "GITHUB_AUTHORIZE_URL": f"{self.base_url}/login/oauth/authorize",
                "GITHUB_TOKEN_URL": f"{self.base_url}/login/oauth/access_token", "GITHUB_API_URL": f"{self.base_url}/api"}

    def start(self) -> FakeGitHub:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def _app(self) -> Flask:
        app = Flask("fake_github")
        fake = self

        @app.get("/login/oauth/authorize")
        def authorize():
            if request.args.get("client_id") != fake.client_id or fake.next_user is None:
                return "unknown client or nobody logged in", 400
            code = secrets.token_hex(10)
            fake.codes[code] = (fake.next_user, request.args.get("redirect_uri"))
            query = urlencode({"code": code, "state": request.args.get("state", "")})
            return redirect(f"{request.args['redirect_uri']}?{query}")

        @app.post("/login/oauth/access_token")
        def access_token():
            form = request.form.to_dict()
            fake.token_requests.append(form)
            entry = fake.codes.pop(form.get("code", ""), None)
            if form.get("client_id") != fake.client_id or form.get("client_secret") != fake.client_secret:
                return jsonify(error="incorrect_client_credentials", error_description="The client_id and/or "
                               "client_secret passed are incorrect.")
            if entry is None or (entry[1] and form.get("redirect_uri") != entry[1]):
                return jsonify(error="bad_verification_code",
                               error_description="The code passed is incorrect or expired.")
            token = "gho_" + secrets.token_hex(16)
            fake.tokens[token] = entry[0]
            return jsonify(access_token=token, token_type="bearer", scope="user:email")

        def current_user() -> GitHubUser | None:
            header = request.headers.get("Authorization", "")
            return fake.tokens.get(header.split(" ", 1)[1] if " " in header else "")

        @app.get("/api/user")
        def user():
            found = current_user()
            if found is None:
                return jsonify(message="Bad credentials"), 401
            primary = next((e["email"] for e in found.emails if e.get("primary")), None)
            return jsonify(id=found.id, login=found.login, name=found.name, email=primary,
                           avatar_url=found.avatar_url)

        @app.get("/api/user/emails")
        def emails():
            found = current_user()
            if found is None:
                return jsonify(message="Bad credentials"), 401
            return jsonify([{**e, "visibility": None} for e in found.emails])

        return app
