"""Apps and their draft/published configurations (seed 002 §01, docs/api.md A "Apps")."""

from __future__ import annotations

import copy
import secrets
import string
import uuid

import sqlalchemy as sa
from flask import current_app

from llmops.errors import FailError, ForbiddenError, NotFoundError, ValidateError
from llmops.extensions import db
from llmops.models import App, AppConfig, AppDatasetJoin, Conversation, Dataset
from llmops.models.base import unix, utcnow
from llmops.services.common import contains, get_owned, paginate, retry_on_conflict
from llmops.services.core import account_service, model_service

CONFIG_FIELDS = ("model_config", "memory_mode", "preset_prompt", "dataset_ids", "retrieval_config", "opening_statement",
                 "tools", "workflows", "opening_questions", "speech_to_text", "text_to_speech", "suggested_after_answer",
                 "review_config")


def course_defaults() -> dict:
    """Defaults of the keys the course front end adds (tools and workflows are stored as given:
    those modules are not served yet; the other keys' behaviours live with their features)."""
    return {
        "tools": [],
        "workflows": [],
        "opening_questions": [],
        "speech_to_text": {"enable": False},
        "text_to_speech": {"enable": False, "voice": "echo", "auto_play": False},
        "suggested_after_answer": {"enable": False},
        "review_config": {"enable": False, "keywords": [], "inputs_config": {"enable": False, "preset_response": ""},
                          "outputs_config": {"enable": False}},
    }


def default_config() -> dict:
    """The configuration a new app starts with: the admin's active language model (else the
    configured default, the local model), no memory."""
    config = current_app.config
    active = model_service.get_active_model("language")
    return {
        "model_config": {
            "provider": active.provider if active else config["DEFAULT_LLM_PROVIDER"],
            "model": active.model if active else config["DEFAULT_LLM_MODEL"],
            "parameters": {"temperature": 0.5, "top_p": 0.85, "max_tokens": 512},
            "dialog_round": 3,
        },
        "memory_mode": "none",
        "preset_prompt": "",
        "dataset_ids": [],
        "retrieval_config": {"retrieval_strategy": "semantic", "k": 4, "score": 0.5},
        "opening_statement": "",
        **course_defaults(),
    }


def chat_features(config) -> dict:
    """The chat behaviours a configuration turns on (course shape): ``review_config`` (dict, see
    ``review_service``) and ``suggested_after_answer`` (bool); absent settings mean off."""
    suggested = getattr(config, "suggested_after_answer", None) or {}
    return {
        "review_config": getattr(config, "review_config", None) or {},
        "suggested_after_answer": bool(suggested.get("enable")) if isinstance(suggested, dict) else False,
    }


def get_owned_app(account_id: uuid.UUID, app_id: uuid.UUID) -> App:
    """The app if it exists and belongs to ``account_id``; otherwise ``NotFoundError``."""
    return get_owned(App, app_id, account_id, "app")


def list_apps(account_id: uuid.UUID, current_page: int, page_size: int, search_word: str = "") -> tuple[list[dict], dict]:
    """A page of the account's apps, newest first → (items, paginator)."""
    query = sa.select(App).where(App.account_id == account_id, App.is_deleted.is_(False))
    if search_word:
        query = query.where(contains(App.name, search_word))
    apps, page = paginate(query, (App.created_at.desc(), App.id), current_page, page_size)
    config_ids = [a.published_app_config_id or a.drafted_app_config_id for a in apps]
    wanted = {i for a in apps for i in (a.published_app_config_id, a.drafted_app_config_id) if i}
    # one query: app_to_dict's own lookups of the drafts are then answered by the identity map
    configs = {c.id: c for c in db.session.scalars(sa.select(AppConfig).where(AppConfig.id.in_(wanted)))} if wanted else {}
    return [app_to_dict(a, summary_config=configs.get(i)) for a, i in zip(apps, config_ids, strict=True)], page



def create_app(account_id: uuid.UUID, name: str, icon: str = "", description: str = "",
               config: dict | None = None) -> App:
    """Create an app with a draft configuration of sensible defaults, merged with ``config``
    (draft values, e.g. an app template's; keys that are not configuration fields are ignored;
    the model is validated)."""
    values = default_config()
    for key, value in (config or {}).items():
        if key in CONFIG_FIELDS:
            current = values.get(key)
            values[key] = _deep_merge(current, value) if isinstance(value, dict) and isinstance(current, dict) else value
    if config:
        model_service.get_model(values["model_config"]["provider"], values["model_config"]["model"])
    app = App(id=uuid.uuid4(), account_id=account_id, name=name, icon=icon, description=description)
    draft = AppConfig(id=uuid.uuid4(), app_id=app.id, status="drafted", **values)
    app.drafted_app_config_id = draft.id
    db.session.add_all([app, draft])
    db.session.commit()
    return app


def get_app_detail(account_id: uuid.UUID, app_id: uuid.UUID) -> dict:
    """Seed 1.1's fields plus each configuration in full."""
    app = get_owned_app(account_id, app_id)
    return app_to_dict(app, with_configs=True)


def update_app(account_id: uuid.UUID, app_id: uuid.UUID, changes: dict) -> App:
    """Update ``name``, ``icon``, ``description`` (only the keys given)."""
    app = get_owned_app(account_id, app_id)
    for key in ("name", "icon", "description"):
        if key in changes:
            setattr(app, key, changes[key])
    db.session.commit()
    return app


def delete_app(account_id: uuid.UUID, app_id: uuid.UUID) -> None:
    """Soft-delete the app (its messages stay for usage history)."""
    app = get_owned_app(account_id, app_id)
    app.is_deleted = True
    db.session.execute(sa.delete(AppDatasetJoin).where(AppDatasetJoin.app_id == app.id))
    db.session.commit()


def copy_app(account_id: uuid.UUID, app_id: uuid.UUID) -> App:
    """A new app with the same profile and, as its draft, the source's current configuration."""
    source = get_owned_app(account_id, app_id)
    source_config = _current_config(source)
    app = App(id=uuid.uuid4(), account_id=account_id, name=f"{source.name[:33]} (copy)",
              icon=source.icon, description=source.description)
    draft = AppConfig(id=uuid.uuid4(), app_id=app.id, status="drafted",
                      **(_config_values(source_config) if source_config else default_config()))
    app.drafted_app_config_id = draft.id
    db.session.add_all([app, draft])
    db.session.commit()
    return app


def update_draft_config(account_id: uuid.UUID, app_id: uuid.UUID, changes: dict,
                        dataset_field: str = "dataset_ids") -> AppConfig:
    """Seed 1.2: merge ``changes`` into the draft (nested dicts merged key by key); the draft is
    created from the published configuration (or defaults) when there is none. ``dataset_field``
    names the request field an unknown dataset is reported under."""
    app = get_owned_app(account_id, app_id)
    draft = _get_or_create_draft(app)
    for key, value in changes.items():
        current = getattr(draft, key)
        if isinstance(value, dict) and isinstance(current, dict):
            value = _deep_merge(current, value)
        setattr(draft, key, value)
    model_config = draft.model_config
    model_service.get_model(model_config["provider"], model_config["model"])  # validates provider
    if "dataset_ids" in changes:
        _check_datasets(account_id, changes["dataset_ids"], dataset_field)
    if "tools" in changes:
        from llmops.services.studio import tool_service

        draft.tools = tool_service.check_app_tools(account_id, changes["tools"])
    draft.updated_at = utcnow()
    _sync_dataset_joins(app)
    db.session.commit()
    return draft


def _check_datasets(account_id: uuid.UUID, dataset_ids: list[str], field: str = "dataset_ids") -> None:
    """Every bound dataset must exist and belong to the account (``ValidateError``)."""
    if not dataset_ids:
        return
    ids = [uuid.UUID(i) for i in dataset_ids]
    owned = set(db.session.scalars(sa.select(Dataset.id).where(Dataset.id.in_(ids), Dataset.account_id == account_id)))
    missing = [str(i) for i in ids if i not in owned]
    if missing:
        raise ValidateError(f"unknown dataset(s): {', '.join(missing)}",
                            data={field: [f"unknown dataset {m}" for m in missing]})


def _sync_dataset_joins(app: App) -> None:
    """Keep ``app_dataset_join`` equal to the datasets of the app's draft and published configs."""
    db.session.flush()
    wanted: set[uuid.UUID] = set()
    for config_id in (app.drafted_app_config_id, app.published_app_config_id):
        config = db.session.get(AppConfig, config_id) if config_id else None
        if config is not None:
            wanted.update(uuid.UUID(i) for i in config.dataset_ids or [])
    existing = set(db.session.scalars(sa.select(AppDatasetJoin.dataset_id).where(AppDatasetJoin.app_id == app.id)))
    if existing - wanted:
        db.session.execute(sa.delete(AppDatasetJoin).where(AppDatasetJoin.app_id == app.id,
                                                           AppDatasetJoin.dataset_id.in_(existing - wanted)))
    live = set(db.session.scalars(sa.select(Dataset.id).where(Dataset.id.in_(wanted - existing)))) if wanted - existing else set()
    db.session.add_all(AppDatasetJoin(app_id=app.id, dataset_id=d) for d in live)


def get_course_draft_config(account_id: uuid.UUID, app_id: uuid.UUID) -> dict:
    """Course 1.7: the draft in the course front end's shape. Datasets deleted since they were
    bound are dropped from the draft (as the course platform does) before it is returned."""
    app = get_owned_app(account_id, app_id)
    draft = _get_or_create_draft(app)
    ids = [uuid.UUID(i) for i in draft.dataset_ids or []]
    found = {d.id: d for d in db.session.scalars(
        sa.select(Dataset).where(Dataset.id.in_(ids), Dataset.account_id == account_id))} if ids else {}
    live = [str(i) for i in ids if i in found]
    if live != list(draft.dataset_ids or []):
        draft.dataset_ids = live
        _sync_dataset_joins(app)
    db.session.commit()
    return course_config_to_dict(draft, [found[uuid.UUID(i)] for i in live], account_id)


def course_config_to_dict(config: AppConfig, datasets: list[Dataset], account_id: uuid.UUID | None = None) -> dict:
    """A configuration in the course's shape: ``dialog_round`` beside ``model_config``,
    ``long_term_memory.enable`` for ``memory_mode``, ``datasets`` as objects; tools and workflows
    as the course reads them (their modules are not served yet: names are their ids)."""
    model_config = config.model_config or {}
    defaults = course_defaults()
    return {
        "id": str(config.id),
        "model_config": {"provider": model_config.get("provider", ""), "model": model_config.get("model", ""),
                         "parameters": model_config.get("parameters") or {}},
        "dialog_round": int(model_config.get("dialog_round", 3)),
        "preset_prompt": config.preset_prompt,
        "tools": _course_tools(config.tools or [], account_id),
        "workflows": [{"id": w, "name": "", "icon": "", "description": ""} for w in config.workflows or []],
        "datasets": [{"id": str(d.id), "name": d.name, "icon": d.icon, "description": d.description} for d in datasets],
        "retrieval_config": config.retrieval_config or {},
        "long_term_memory": {"enable": config.memory_mode == "long_term_memory"},
        "opening_statement": config.opening_statement,
        **{key: getattr(config, key) if getattr(config, key) is not None else defaults[key]
           for key in ("opening_questions", "speech_to_text", "text_to_speech", "suggested_after_answer",
                       "review_config")},
        "updated_at": unix(config.updated_at),
        "created_at": unix(config.created_at),
    }


def _course_tools(tools: list[dict], account_id: uuid.UUID | None) -> list[dict]:
    """The bound tools in the course's shape; tools deleted or hidden since are left out."""
    if account_id is None:
        return [_course_tool(t) for t in tools]
    from llmops.services.studio import tool_service

    return [shown for shown in (tool_service.course_tool(account_id, t) for t in tools) if shown is not None]


def _course_tool(tool: dict) -> dict:
    """A stored tool reference ``{type, provider_id, tool_id, params}`` as the course reads it."""
    provider, name = str(tool.get("provider_id", "")), str(tool.get("tool_id", ""))
    return {"type": tool.get("type", ""),
            "provider": {"id": provider, "name": provider, "label": provider, "icon": "", "description": ""},
            "tool": {"id": name, "name": name, "label": name, "description": "", "params": tool.get("params") or {}}}


def publish(account_id: uuid.UUID, app_id: uuid.UUID) -> AppConfig:
    """Freeze the draft as a new numbered published version; the draft stays for editing.
    Concurrent publishes get consecutive numbers (unique per app; the loser retries)."""

    def write() -> AppConfig:
        app = get_owned_app(account_id, app_id)
        draft = _get_or_create_draft(app)
        last_version = db.session.scalar(
            sa.select(sa.func.max(AppConfig.version)).where(AppConfig.app_id == app.id, AppConfig.status == "published")
        ) or 0
        published = AppConfig(id=uuid.uuid4(), app_id=app.id, status="published", version=last_version + 1,
                              **_config_values(draft))
        db.session.add(published)
        db.session.flush()  # the version number is taken here (uq_app_config_app_version)
        app.published_app_config_id = published.id
        app.status = "published"
        if app.token is None:
            app.token = new_web_app_token()
        _sync_dataset_joins(app)
        db.session.commit()
        return published

    return retry_on_conflict(write, "this app's versions")


WEB_APP_TOKEN_ALPHABET = string.ascii_letters + string.digits


def new_web_app_token() -> str:
    """A web app's access token: 16 random letters and digits (course §1.19's shape, ~95 bits)."""
    return "".join(secrets.choice(WEB_APP_TOKEN_ALPHABET) for _ in range(16))


def cancel_publish(account_id: uuid.UUID, app_id: uuid.UUID) -> None:
    """Take the app offline; its versions stay in the history."""
    app = get_owned_app(account_id, app_id)
    if app.published_app_config_id is None:
        raise FailError("the app is not published")
    app.published_app_config_id = None
    app.status = "draft"
    _sync_dataset_joins(app)
    db.session.commit()


def publish_histories(account_id: uuid.UUID, app_id: uuid.UUID, current_page: int, page_size: int) -> tuple[list[dict], dict]:
    """Published versions, newest first → (items, paginator)."""
    app = get_owned_app(account_id, app_id)
    query = sa.select(AppConfig).where(AppConfig.app_id == app.id, AppConfig.status == "published")
    rows, page = paginate(query, (AppConfig.version.desc(),), current_page, page_size)
    items = [{**config_to_dict(r), "version": r.version, "is_current": r.id == app.published_app_config_id} for r in rows]
    return items, page


def fallback_history(account_id: uuid.UUID, app_id: uuid.UUID, app_config_version_id: uuid.UUID) -> AppConfig:
    """Copy a published version back into the draft."""
    app = get_owned_app(account_id, app_id)
    version = db.session.get(AppConfig, app_config_version_id)
    if version is None or version.app_id != app.id or version.status != "published":
        raise NotFoundError("publish history not found")
    draft = _get_or_create_draft(app)
    for key, value in _config_values(version).items():
        setattr(draft, key, value)
    draft.updated_at = utcnow()
    db.session.commit()
    return draft


def get_debug_config(app: App) -> AppConfig:
    """The configuration debug chat uses: the draft, else the published one (``FailError``)."""
    config = _current_config(app)
    if config is None:
        raise FailError("the app has no configuration to debug")
    return config


def get_or_create_debug_conversation(app: App) -> Conversation:
    """The app's debug conversation, created on first use (commits)."""
    conversation = db.session.get(Conversation, app.debug_conversation_id) if app.debug_conversation_id else None
    if conversation is None or conversation.is_deleted:
        conversation = Conversation(id=uuid.uuid4(), app_id=app.id, account_id=app.account_id, invoke_from="debugger")
        db.session.add(conversation)
        app.debug_conversation_id = conversation.id
        db.session.commit()
    return conversation


def get_published_config(app: App) -> AppConfig:
    """The published configuration (what API callers get); ``FailError`` when not published."""
    config = db.session.get(AppConfig, app.published_app_config_id) if app.published_app_config_id else None
    if config is None:
        raise FailError("the app is not published")
    return config


def get_or_create_api_conversation(app: App, conversation_id: uuid.UUID | None, end_user_id: str | None) -> Conversation:
    """An Open API conversation of ``app``: the given one (same app and end user, else
    ``NotFoundError``) or a new one (commits)."""
    return _get_or_create_conversation(app, conversation_id, "service_api", end_user_id=end_user_id)


def get_app_by_web_app_token(token: str) -> App:
    """The published, live app whose web app ``token`` this is; otherwise ``NotFoundError``
    (``ForbiddenError`` when its owner's account is disabled)."""
    app = db.session.scalar(sa.select(App).where(App.token == token)) if token else None
    if app is None or app.is_deleted or app.status != "published" or app.published_app_config_id is None:
        raise NotFoundError("web app not found")
    status = account_service.account_status(app.account_id)  # the owner pays: a disabled owner's apps stop
    if status is None or status[0]:
        raise ForbiddenError("the account that owns this web app has been disabled")
    return app


def get_or_create_web_app_conversation(app: App, conversation_id: uuid.UUID | None,
                                       end_user_id: uuid.UUID) -> Conversation:
    """A web-app conversation of ``app`` and end user ``end_user_id``: the given one (else
    ``NotFoundError``) or a new one (commits)."""
    return _get_or_create_conversation(app, conversation_id, "web_app", created_by=end_user_id)


def _get_or_create_conversation(app: App, conversation_id: uuid.UUID | None, invoke_from: str,
                                **owner) -> Conversation:
    """The conversation ``conversation_id`` of ``app`` made from ``invoke_from`` whose ``owner``
    columns match (else ``NotFoundError``), or a new one with them (commits)."""
    if conversation_id is not None:
        conversation = db.session.get(Conversation, conversation_id)
        if (conversation is None or conversation.is_deleted or conversation.app_id != app.id
                or conversation.invoke_from != invoke_from
                or any(getattr(conversation, column) != value for column, value in owner.items())):
            raise NotFoundError("conversation not found")
        return conversation
    conversation = Conversation(id=uuid.uuid4(), app_id=app.id, account_id=app.account_id, invoke_from=invoke_from,
                                **owner)
    db.session.add(conversation)
    db.session.commit()
    return conversation


def config_to_dict(config: AppConfig | None) -> dict | None:
    """A configuration in the API's shape (seed 1.1 plus the studio's fields)."""
    if config is None:
        return None
    return {
        "id": str(config.id),
        **_config_values(config),
        "status": config.status,
        "updated_at": unix(config.updated_at),
        "created_at": unix(config.created_at),
    }


def app_to_dict(app: App, with_configs: bool = False, summary_config: AppConfig | None = None) -> dict:
    """An app in seed 1.1's shape plus the course's ``draft_updated_at``; configurations included
    when ``with_configs``; ``summary_config`` (the published config, else the draft) adds the
    course list's ``model_config {provider, model}`` and ``preset_prompt``."""
    draft = db.session.get(AppConfig, app.drafted_app_config_id) if app.drafted_app_config_id else None
    data = {
        "id": str(app.id),
        "name": app.name,
        "icon": app.icon,
        "description": app.description,
        "status": app.status,
        "published_app_config_id": _str(app.published_app_config_id),
        "drafted_app_config_id": _str(app.drafted_app_config_id),
        "debug_conversation_id": _str(app.debug_conversation_id),
        "draft_updated_at": unix(draft.updated_at) if draft else unix(app.updated_at),
        "updated_at": unix(app.updated_at),
        "created_at": unix(app.created_at),
    }
    if summary_config is not None:
        model_config = summary_config.model_config or {}
        data["model_config"] = {"provider": model_config.get("provider", ""), "model": model_config.get("model", "")}
        data["preset_prompt"] = summary_config.preset_prompt
    if with_configs:
        published = db.session.get(AppConfig, app.published_app_config_id) if app.published_app_config_id else None
        data["published_app_config"] = config_to_dict(published)
        data["drafted_app_config"] = config_to_dict(draft)
        summary = published or draft
        if summary is not None:
            data["model_config"] = {"provider": summary.model_config.get("provider", ""),
                                    "model": summary.model_config.get("model", "")}
            data["preset_prompt"] = summary.preset_prompt
    return data


def _current_config(app: App) -> AppConfig | None:
    config_id = app.drafted_app_config_id or app.published_app_config_id
    return db.session.get(AppConfig, config_id) if config_id else None


def _get_or_create_draft(app: App) -> AppConfig:
    if app.drafted_app_config_id:
        draft = db.session.get(AppConfig, app.drafted_app_config_id)
        if draft is not None:
            return draft
    published = db.session.get(AppConfig, app.published_app_config_id) if app.published_app_config_id else None
    values = _config_values(published) if published else default_config()
    draft = AppConfig(id=uuid.uuid4(), app_id=app.id, status="drafted", **values)
    db.session.add(draft)
    app.drafted_app_config_id = draft.id
    return draft


def _config_values(config: AppConfig) -> dict:
    return {key: copy.deepcopy(getattr(config, key)) for key in CONFIG_FIELDS}


def _deep_merge(base: dict, changes: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _str(value) -> str | None:
    return str(value) if value is not None else None
