"""Third-party login (course module 06) with authlib's OAuth 2 client: GitHub.

``redirect_url(provider)`` starts a login: the provider's authorize URL with a fresh ``state``
kept in the state store for ``OAUTH_STATE_TTL_S``. ``authorize(provider, code, state)`` checks and
spends the state, trades the code for a provider token, reads the GitHub user and its e-mails,
and logs in the linked account: by the stored link (``account_oauth``), else by the user's
**primary verified** e-mail (linked on the way), else a new account (when registration is open).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx2
import sqlalchemy as sa
from authlib.integrations.httpx_client import OAuth2Client, OAuthError
from flask import current_app

from llmops.errors import FailError, ForbiddenError, NotFoundError, UpstreamError, ValidateError
from llmops.extensions import db
from llmops.models import Account, AccountOAuth
from llmops.runtime import runtime
from llmops.services.core import account_service

PROVIDERS = ("github",)


@dataclass(frozen=True)
class ProviderSettings:
    name: str
    client_id: str
    client_secret: str
    redirect_uri: str | None
    authorize_url: str
    token_url: str
    api_url: str
    scope: str


@dataclass(frozen=True)
class ExternalUser:
    """What a provider says about the person logging in."""

    openid: str
    name: str
    email: str | None  # the primary e-mail, only when the provider has verified it
    avatar: str


def redirect_url(provider: str) -> dict:
    """Course 6.1 → ``{redirect_url}``; ``NotFoundError`` (unknown provider), ``FailError`` (not configured)."""
    settings = _settings(provider)
    with _client(settings) as client:
        url, state = client.create_authorization_url(settings.authorize_url)
    config = current_app.config
    runtime().state_store.set(_state_key(provider, state), "1", config["OAUTH_STATE_TTL_S"])
    return {"redirect_url": url}


def authorize(provider: str, code: str, state: str | None, ip: str = "", invite_code: str | None = None) -> Account:
    """Course 6.2 → the linked account, logged in (the api layer opens its session); a new account
    follows ``REGISTRATION`` (``invite_code`` under ``invite``). Raises ``ValidateError``
    (missing/unknown/used ``state``), ``FailError`` (the provider refused the code),
    ``ForbiddenError`` (no verified primary e-mail; registration refused; account disabled),
    ``UpstreamError`` (the provider could not be reached)."""
    settings = _settings(provider)
    _spend_state(provider, state)
    user = _fetch_user(settings, code)
    account = _linked_account(provider, user, ip, invite_code)
    return account_service.external_login(account, ip)


def _settings(provider: str) -> ProviderSettings:
    if provider not in PROVIDERS:
        raise NotFoundError(f"unknown login provider '{provider}' (supported: {', '.join(PROVIDERS)})")
    config = current_app.config
    if not (config.get("GITHUB_CLIENT_ID") and config.get("GITHUB_CLIENT_SECRET")):
        raise FailError("GitHub login is not configured on this server (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET)")
    return ProviderSettings(
        "github", config["GITHUB_CLIENT_ID"], config["GITHUB_CLIENT_SECRET"], config.get("GITHUB_REDIRECT_URI"),
        config["GITHUB_AUTHORIZE_URL"], config["GITHUB_TOKEN_URL"], config["GITHUB_API_URL"].rstrip("/"),
        "user:email",
    )


def _client(settings: ProviderSettings) -> OAuth2Client:
    return OAuth2Client(settings.client_id, settings.client_secret, scope=settings.scope,
                        redirect_uri=settings.redirect_uri, timeout=current_app.config["OAUTH_HTTP_TIMEOUT_S"],
                        token_endpoint_auth_method="client_secret_post")


def _state_key(provider: str, state: str) -> str:
    return f"oauth-state:{provider}:{state}"


def _spend_state(provider: str, state: str | None) -> None:
    """The state must be one we issued for this provider, not yet used and not expired."""
    if not state:
        if current_app.config["OAUTH_STATE_REQUIRED"]:
            raise ValidateError("state is required: send the state the provider returned with the code",
                                data={"state": ["Missing data for required field."]})
        return
    store = runtime().state_store
    key = _state_key(provider, state)
    if store.get(key) is None:
        raise ValidateError("unknown, expired or already used state: start the login again",
                            data={"state": ["unknown, expired or already used"]})
    store.delete(key)


def _fetch_user(settings: ProviderSettings, code: str) -> ExternalUser:
    try:
        with _client(settings) as client:
            client.fetch_token(settings.token_url, code=code)
            user = _json(client.get(f"{settings.api_url}/user", headers={"Accept": "application/vnd.github+json"}))
            emails = _json(client.get(f"{settings.api_url}/user/emails",
                                      headers={"Accept": "application/vnd.github+json"}))
    except OAuthError as exc:
        raise FailError(f"GitHub refused the authorization code: {exc.error}",
                        data={"code": [exc.description or exc.error or "refused"]}) from exc
    except httpx2.HTTPError as exc:
        raise UpstreamError(f"GitHub could not be reached: {exc.__class__.__name__}") from exc
    if not isinstance(user, dict) or user.get("id") is None:
        raise UpstreamError("GitHub answered without a user id")
    primary = next((e for e in emails if isinstance(e, dict) and e.get("primary")), None) if isinstance(emails, list) \
        else None
    email = str(primary["email"]).strip().lower() if primary and primary.get("verified") and primary.get("email") \
        else None
    return ExternalUser(openid=str(user["id"]), name=str(user.get("name") or user.get("login") or "GitHub user"),
                        email=email, avatar=str(user.get("avatar_url") or ""))


def _json(response: httpx2.Response):
    if response.status_code != 200:
        raise UpstreamError(f"GitHub answered {response.status_code} to {response.request.url.path}")
    try:
        return response.json()
    except ValueError as exc:
        raise UpstreamError("GitHub answered with something that is not JSON") from exc


def _linked_account(provider: str, user: ExternalUser, ip: str, invite_code: str | None) -> Account:
    link = db.session.scalar(sa.select(AccountOAuth).where(AccountOAuth.provider == provider,
                                                           AccountOAuth.openid == user.openid))
    if link is not None:
        return account_service.get_account(link.account_id)
    if user.email is None:
        raise ForbiddenError("your GitHub account has no verified primary e-mail address: verify it on GitHub "
                             "and log in again")
    account = db.session.scalar(sa.select(Account).where(Account.email == user.email))
    if account is None:
        account = account_service.create_external_account(user.name[:100], user.email, user.avatar[:512], ip,
                                                           invite_code)
    db.session.add(AccountOAuth(account_id=account.id, provider=provider, openid=user.openid))
    try:
        db.session.commit()
    except sa.exc.IntegrityError:  # the same identity linked concurrently: use that link
        db.session.rollback()
        link = db.session.scalar(sa.select(AccountOAuth).where(AccountOAuth.provider == provider,
                                                               AccountOAuth.openid == user.openid))
        if link is None:
            raise
        return account_service.get_account(link.account_id)
    return account
