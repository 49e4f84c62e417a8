"""Web apps (course §1.19–1.20 and module 15): a published app reached by its token.

The token is made at the first publish (or on demand for apps published before tokens existed)
and kept across unpublish/republish; regenerating it makes the old one answer 404. Any logged-in
account holding the token may chat with the app; the turns are charged to the app's owner and
each end user sees only their own conversations.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from flask import current_app

from llmops.errors import FailError
from llmops.extensions import db
from llmops.models import App, AppConfig, Conversation
from llmops.services.core import model_service
from llmops.services.studio import app_service, chat_service, conversation_service


def get_published_config(account_id: uuid.UUID, app_id: uuid.UUID) -> dict:
    """§1.19 → ``{web_app: {token, status}}``; ``token`` is "" while the app is a draft."""
    app = app_service.get_owned_app(account_id, app_id)
    if app.status != "published":
        return {"web_app": {"token": "", "status": "draft"}}
    if app.token is None:
        app.token = app_service.new_web_app_token()
        db.session.commit()
    return {"web_app": {"token": app.token, "status": "published"}}


def regenerate_token(account_id: uuid.UUID, app_id: uuid.UUID) -> dict:
    """§1.20 → ``{token}``, a new token; the old one stops working. ``FailError`` when the app
    is not published."""
    app = app_service.get_owned_app(account_id, app_id)
    if app.status != "published":
        raise FailError("the app is not published: publish it to get a web app token")
    app.token = app_service.new_web_app_token()
    db.session.commit()
    return {"token": app.token}


def get_web_app(token: str) -> dict:
    """§15.1 → ``{id, icon, name, description, app_config}``; ``app_config`` holds the published
    configuration's parts a front end reads. ``NotFoundError`` for an unknown token or an
    unpublished app."""
    app = app_service.get_app_by_web_app_token(token)
    config = db.session.get(AppConfig, app.published_app_config_id)
    return {"id": str(app.id), "icon": app.icon, "name": app.name, "description": app.description,
            "app_config": _front_end_config(config)}


def _front_end_config(config: AppConfig) -> dict:
    def value(key: str, default):  # an empty setting reads as the default
        found = getattr(config, key, None)
        return default if found is None or found == {} else found

    model_config = config.model_config or {}
    try:
        spec = model_service.get_model(model_config.get("provider", ""), model_config.get("model", ""))
        features = model_service.model_to_dict(spec)["features"]  # the language-model list's, course names included
    except Exception:  # noqa: BLE001 — a model since removed from the registry: no features
        features = []
    return {
        "opening_statement": value("opening_statement", ""),
        "opening_questions": value("opening_questions", []),
        "suggested_after_answer": value("suggested_after_answer", {"enable": False}),
        "speech_to_text": value("speech_to_text", {"enable": False}),
        "text_to_speech": value("text_to_speech", {"enable": False, "voice": "", "auto_play": False}),
        "features": features,
    }


def chat(end_user_id: uuid.UUID, token: str, query: str,
         conversation_id: uuid.UUID | None) -> Iterator[tuple[str, dict]]:
    """§15.2: the turn is prepared at once (errors keep their HTTP status), then → the debug
    chat's events. After the first round of a new conversation its naming starts."""
    turn = chat_service.prepare_web_app_turn(end_user_id, token, query, conversation_id)
    events = chat_service.stream_debug_turn(turn)
    if conversation_id is not None:
        return events
    return ThenEvents(events, lambda: conversation_service.start_auto_name(turn.conversation_id, turn.message_id))


class ThenEvents:
    """``events`` followed by ``after()``, run once when they are exhausted or closed (the
    client gone: the service has saved the partial round by then); ``close``/``abandon``
    reach the wrapped events as ``api/sse.py`` calls them."""

    def __init__(self, events: Iterator[tuple[str, dict]], after: Callable[[], None]):
        self.events, self.after, self.done = events, after, False
        self.app = current_app._get_current_object()

    def __iter__(self) -> ThenEvents:
        return self

    def __next__(self) -> tuple[str, dict]:
        try:
            return next(self.events)
        except StopIteration:
            self._after()
            raise

    def close(self) -> None:
        close = getattr(self.events, "close", None)
        if close is not None:
            close()  # ValueError while another thread runs them: that thread closes them itself
        self._after()

    def abandon(self) -> None:
        with contextlib.suppress(ValueError):
            self.close()

    def _after(self) -> None:
        if not self.done:
            self.done = True
            with self.app.app_context():
                self.after()


def stop(end_user_id: uuid.UUID, token: str, task_id: uuid.UUID) -> None:
    """§15.3."""
    chat_service.stop_web_app_task(end_user_id, token, task_id)


def list_conversations(end_user_id: uuid.UUID, token: str, is_pinned: bool) -> list[dict]:
    """§5.1: the end user's live conversations of this web app, pinned or not, newest first."""
    app: App = app_service.get_app_by_web_app_token(token)
    rows = db.session.scalars(
        sa.select(Conversation).where(
            Conversation.app_id == app.id, Conversation.created_by == end_user_id,
            Conversation.invoke_from == "web_app", Conversation.is_deleted.is_(False),
            Conversation.is_pinned.is_(is_pinned))
        .order_by(Conversation.created_at.desc(), Conversation.id.desc())
    ).all()
    return [conversation_service.conversation_to_dict(c) for c in rows]
