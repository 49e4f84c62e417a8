"""tests/security: one test per attack of the "safe to open to users" review.

Each test performs the attack for real against the app (or the process the attack targets:
espeak-ng, gunicorn's access log) and asserts that it fails; each was also run against the code
before its fix, where it succeeded. Files: ``test_<area>.py`` for the general holes, and
``test_money_*.py`` / ``test_auth_*.py`` for the holes of the money and account parts.

Fixtures here: ``key_headers`` (a fresh API key's ``Authorization`` headers) and ``make_app``
(another app on the same database with some settings changed, e.g. ``TRUSTED_PROXY_HOPS``).
"""

from __future__ import annotations

import pytest

from config import TestingConfig
from tests.api.test_api_keys import new_key


@pytest.fixture
def key_headers(client, auth) -> dict:
    """``Authorization`` headers of a new API key of a fresh account (no quota limit)."""
    return {"Authorization": f"Bearer {new_key(client, auth)['key']}"}


@pytest.fixture
def make_app(app):
    """``make_app(**settings)`` → another app on the session's database with ``settings`` changed."""
    from llmops import create_app

    def make(**settings):
        return create_app(TestingConfig, **{**dict(app.config), **settings})

    return make
