"""SECRET_KEY: the old code signed tokens with a public default key; production now refuses a weak
key, and the embedded profile generates one per instance folder (shared by its processes)."""

from __future__ import annotations

import stat
from datetime import timedelta

import pytest
from flask_jwt_extended import create_access_token

from config import ProductionConfig, TestingConfig

OLD_DEFAULT = "dev-secret-change-me-in-production-0123456789"  # the key earlier versions shipped


def test_a_token_forged_with_the_old_default_key_is_refused(app, client, auth):
    from flask import Flask
    from flask_jwt_extended import JWTManager

    account = client.get("/account", headers=auth).get_json()["data"]
    forger = Flask("forger")  # an attacker who read the repository: the default key and the issuer
    forger.config.update(JWT_SECRET_KEY=OLD_DEFAULT, JWT_ENCODE_ISSUER="llmops", JWT_ALGORITHM="HS256")
    JWTManager(forger)
    with forger.app_context():
        token = create_access_token(identity=account["id"], expires_delta=timedelta(hours=1))
    response = client.get("/account", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


@pytest.mark.parametrize("key", [None, "", OLD_DEFAULT, "short-key-0123456789"])
def test_production_refuses_to_start_with_a_weak_key(app, key):
    from llmops import create_app

    settings = {**dict(app.config), "SECRET_KEY": key, "JWT_SECRET_KEY": None, "DATA_ENCRYPTION_KEY": None}
    settings.pop("GENERATE_SECRET_KEY", None)  # the production class's own value applies
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig, **settings)
    strong = create_app(ProductionConfig, **{**settings, "SECRET_KEY": "x" * 40})
    assert strong.config["JWT_SECRET_KEY"] == "x" * 40


def test_embedded_instances_share_one_generated_key(app, tmp_path):
    from llmops import create_app
    from llmops.services.core import secret_box

    settings = {**dict(app.config), "INSTANCE_DIR": tmp_path, "SECRET_KEY": None, "JWT_SECRET_KEY": None,
                "DATA_ENCRYPTION_KEY": None, "DATA_DECRYPTION_FALLBACK_KEYS": None}
    first, second = create_app(TestingConfig, **settings), create_app(TestingConfig, **settings)
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(first.config["SECRET_KEY"]) >= 32 and first.config["SECRET_KEY"] != OLD_DEFAULT
    assert first.config["JWT_SECRET_KEY"] == first.config["DATA_ENCRYPTION_KEY"] == first.config["SECRET_KEY"]
    with first.app_context():
        token = secret_box.encrypt("sk-user-upstream-key")
    with second.app_context():  # a restart (or another process) reads what the first one stored
        assert secret_box.decrypt(token) == "sk-user-upstream-key"
    legacy = create_app(TestingConfig, **{**settings, "SECRET_KEY": OLD_DEFAULT, "DATA_ENCRYPTION_KEY": OLD_DEFAULT})
    with legacy.app_context():  # data encrypted before the upgrade, with the old default key
        old_token = secret_box.encrypt("sk-stored-before")
    with second.app_context():
        assert secret_box.decrypt(old_token) == "sk-stored-before"
