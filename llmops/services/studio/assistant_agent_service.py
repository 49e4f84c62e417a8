"""The assistant agent (course module 13): a chat with the studio itself whose tools create and
configure apps and knowledge bases for the signed-in account, so a newcomer can say what they
want and get a working app.

One assistant conversation per account (``conversation.invoke_from = assistant_agent``, no app);
``delete_conversation`` starts a new one. The model is ``ASSISTANT_AGENT_PROVIDER`` /
``ASSISTANT_AGENT_MODEL`` when set, else the studio's helper model (``chat_service.helper_model``);
turns run through ``chat_service`` + ``agent_service`` (function calling or ReAct, the same events
and records), metered on the ``ai`` surface.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app

from llmops.errors import NotFoundError, ValidateError
from llmops.extensions import db
from llmops.models import App, Conversation, Message
from llmops.runtime import runtime
from llmops.services.common import paginate, paginator
from llmops.services.core import model_service
from llmops.services.knowledge import dataset_service
from llmops.services.studio import app_service, chat_service, tool_service
from llmops.services.studio.agent_service import AgentSetup
from llmops.tools.builtin import catalog
from llmops.tools.runtime import BoundTool, ToolError

INVOKE_FROM = "assistant_agent"
PROMPT = (
    "You are the LLMOps studio's assistant. You help the user build AI apps in this studio: you can create "
    "apps (with a persona prompt, an opening statement and builtin tools), create knowledge bases, bind "
    "knowledge bases to an app and list what the user has. When the user describes an app they want, create "
    "it with a good preset prompt, then tell them its name and id and what to do next (add documents to a "
    "knowledge base, publish the app). Be brief."
)


def _conversation(account_id: uuid.UUID, create: bool) -> Conversation | None:
    conversation = db.session.scalar(
        sa.select(Conversation).where(Conversation.account_id == account_id, Conversation.invoke_from == INVOKE_FROM,
                                      Conversation.is_deleted.is_(False))
        .order_by(Conversation.created_at.desc()).limit(1))
    if conversation is None and create:
        conversation = Conversation(id=uuid.uuid4(), app_id=None, account_id=account_id, invoke_from=INVOKE_FROM,
                                    created_by=account_id, name="Assistant")
        db.session.add(conversation)
        db.session.commit()
    return conversation


def _model() -> tuple[str, str]:
    config = current_app.config
    if config.get("ASSISTANT_AGENT_PROVIDER") and config.get("ASSISTANT_AGENT_MODEL"):
        return config["ASSISTANT_AGENT_PROVIDER"], config["ASSISTANT_AGENT_MODEL"]
    return chat_service.helper_model()


def prepare_turn(account_id: uuid.UUID, query: str) -> chat_service.DebugTurn:
    """Course 13.1: a turn of the account's assistant conversation (errors before the stream keep
    their HTTP status)."""
    started = time.perf_counter()
    provider, model = _model()
    conversation = _conversation(account_id, create=True)
    config = chat_service.TurnConfig(model_config={"provider": provider, "model": model,
                                                   "parameters": {"temperature": 0.3, "max_tokens": 1024},
                                                   "dialog_round": 3},
                                     preset_prompt=PROMPT)
    turn = chat_service._build_turn(account_id, None, config, conversation, query, started, source="api")
    spec = model_service.get_model(turn.provider, turn.model)
    turn.agent = AgentSetup(refs=[], function_calling="tool_call" in (spec.features or ()),
                            extra_tools=assistant_tools(account_id))
    turn.surface, turn.endpoint = "ai", "assistant_agent.chat"
    turn.suggest_after_answer = False
    return turn


def stop(account_id: uuid.UUID, task_id: uuid.UUID) -> None:
    """Course 13.2 (``NotFoundError`` unless it is the account's running task)."""
    store = runtime().state_store
    if store.get(f"task:{task_id}") != str(account_id):
        raise NotFoundError("no running task with this id")
    store.set(f"stop:{task_id}", "1", 600)


def list_messages(account_id: uuid.UUID, current_page: int, page_size: int, created_at: int = 0) -> tuple[list, dict]:
    """Course 13.3: the assistant conversation's messages, newest first, with ``agent_thoughts``."""
    conversation = _conversation(account_id, create=False)
    if conversation is None:
        return [], paginator(current_page, page_size, 0)
    query = sa.select(Message).where(Message.conversation_id == conversation.id, Message.is_deleted.is_(False))
    if created_at:
        query = query.where(Message.created_at < datetime.fromtimestamp(created_at + 1, UTC).replace(tzinfo=None))
    rows, page = paginate(query, (Message.created_at.desc(), Message.id.desc()), current_page, page_size)
    return [chat_service.message_to_dict(m) for m in rows], page


def delete_conversation(account_id: uuid.UUID) -> None:
    """Course 13.4: the current assistant conversation is closed; the next chat starts a new one."""
    conversation = _conversation(account_id, create=False)
    if conversation is not None:
        conversation.is_deleted = True
        db.session.commit()


# --- the assistant's tools: each acts for ``account_id`` only ------------------------------------------

def assistant_tools(account_id: uuid.UUID) -> list[BoundTool]:
    """The assistant's tools, bound to ``account_id``."""
    def tool(name: str, description: str, inputs: list[dict], function) -> BoundTool:
        return BoundTool(name=name, description=description, inputs=inputs, provider_id="assistant_agent",
                         tool_id=name, invoke=lambda arguments: json.dumps(function(account_id, arguments),
                                                                           ensure_ascii=False))

    def text(name: str, description: str, required: bool = True) -> dict:
        return {"name": name, "description": description, "required": required, "type": "string"}

    return [
        tool("create_app", "Create an AI app for the user. Returns its id.",
             [text("name", "The app's name (at most 40 characters)"),
              text("description", "What the app does", False),
              text("preset_prompt", "The app's persona and instructions for its model", False),
              text("opening_statement", "The first message the app shows", False),
              text("builtin_tools", "Comma-separated builtin tools to bind, as provider/tool "
                                    "(e.g. time/current_time, calculator/calculator)", False)],
             _create_app),
        tool("create_dataset", "Create a knowledge base for the user. Returns its id.",
             [text("name", "The knowledge base's name"), text("description", "What it holds", False)],
             _create_dataset),
        tool("configure_app", "Change one of the user's apps: its persona prompt, opening statement or builtin tools "
                              "(only the arguments given change).",
             [text("app_id", "The app's id"),
              text("preset_prompt", "The new persona and instructions", False),
              text("opening_statement", "The new first message", False),
              text("builtin_tools", "Comma-separated builtin tools (provider/tool) replacing the app's tools", False)],
             _configure_app),
        tool("bind_datasets", "Bind knowledge bases to one of the user's apps.",
             [text("app_id", "The app's id"), text("dataset_ids", "Comma-separated knowledge base ids")],
             _bind_datasets),
        tool("list_my_apps", "List the user's apps (id, name, status).", [], _list_apps),
        tool("list_builtin_tools", "List the builtin tools an app can use, as provider/tool with a description.",
             [], _list_builtin_tools),
    ]


def _required(arguments: dict, name: str) -> str:
    value = str(arguments.get(name) or "").strip()
    if not value:
        raise ToolError(f"the argument {name} is required")
    return value


def _builtin_refs(text: str) -> list[dict]:
    refs = []
    for item in text.split(","):
        if item.strip():
            provider, _, tool = item.strip().partition("/")
            refs.append({"type": "builtin_tool", "provider_id": provider.strip(), "tool_id": (tool or provider).strip(),
                         "params": {}})
    return refs


def _configure_app(account_id: uuid.UUID, arguments: dict) -> dict:
    try:
        app_id = uuid.UUID(_required(arguments, "app_id"))
    except ValueError as exc:
        raise ToolError("app_id must be an app's id") from exc
    changes = {key: str(arguments[key])[:2000] for key in ("preset_prompt", "opening_statement")
               if arguments.get(key) is not None}
    if arguments.get("builtin_tools") is not None:
        changes["tools"] = _builtin_refs(str(arguments["builtin_tools"]))
    if not changes:
        raise ToolError("give preset_prompt, opening_statement or builtin_tools to change")
    try:
        draft = app_service.update_draft_config(account_id, app_id, changes)
    except (NotFoundError, ValidateError) as exc:
        raise ToolError(exc.message) from exc
    return {"app_id": str(app_id), "changed": sorted(changes),
            "tools": [f"{r['provider_id']}/{r['tool_id']}" for r in draft.tools or []]}


def _create_app(account_id: uuid.UUID, arguments: dict) -> dict:
    refs = _builtin_refs(str(arguments.get("builtin_tools") or ""))
    config = {"preset_prompt": str(arguments.get("preset_prompt") or "")[:2000],
              "opening_statement": str(arguments.get("opening_statement") or "")[:2000]}
    try:
        if refs:
            config["tools"] = tool_service.check_app_tools(account_id, refs)
    except ValidateError as exc:
        raise ToolError(exc.message) from exc
    app = app_service.create_app(account_id, _required(arguments, "name")[:40], "",
                                 str(arguments.get("description") or "")[:800], config)
    return {"app_id": str(app.id), "name": app.name, "tools": [f"{r['provider_id']}/{r['tool_id']}" for r in refs],
            "status": app.status}


def _create_dataset(account_id: uuid.UUID, arguments: dict) -> dict:
    try:
        dataset = dataset_service.create_dataset(account_id, _required(arguments, "name")[:100], "",
                                                 str(arguments.get("description") or "")[:2000])
    except ValidateError as exc:
        raise ToolError(exc.message) from exc
    except Exception as exc:
        raise ToolError(getattr(exc, "message", str(exc))) from exc
    return {"dataset_id": str(dataset.id), "name": dataset.name}


def _bind_datasets(account_id: uuid.UUID, arguments: dict) -> dict:
    try:
        app_id = uuid.UUID(_required(arguments, "app_id"))
        ids = [str(uuid.UUID(i.strip())) for i in _required(arguments, "dataset_ids").split(",") if i.strip()]
    except ValueError as exc:
        raise ToolError("app_id and dataset_ids must be ids") from exc
    try:
        draft = app_service.update_draft_config(account_id, app_id, {"dataset_ids": ids[:5]})
    except (NotFoundError, ValidateError) as exc:
        raise ToolError(exc.message) from exc
    return {"app_id": str(app_id), "dataset_ids": draft.dataset_ids}


def _list_apps(account_id: uuid.UUID, arguments: dict) -> dict:
    apps = db.session.scalars(sa.select(App).where(App.account_id == account_id, App.is_deleted.is_(False))
                              .order_by(App.created_at.desc()).limit(20)).all()
    return {"apps": [{"id": str(a.id), "name": a.name, "status": a.status} for a in apps]}


def _list_builtin_tools(account_id: uuid.UUID, arguments: dict) -> dict:
    return {"tools": [{"tool": f"{p['name']}/{t['name']}", "description": t["description"]}
                      for p in catalog.providers(current_app.config) for t in p["tools"]]}
