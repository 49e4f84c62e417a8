"""The voice AI engine's "custom LLM" (seed 001; docs/api.md C2): its chat requests relayed through
the gateway, the RAG variant that sends a waiting chunk first, then retrieves, and the audio
variant that speaks the answer.

The streams are ``(event, data)`` pairs; ``llmops/api/compat/voice_engine.py`` frames them
(OpenAI's data-only SSE): ``chunk`` a ``chat.completion.chunk`` (an object, or the JSON bytes of
a chunk of the gateway's stream passed on as it came), ``error`` OpenAI's error object, ``done``
the closing ``[DONE]``.

The engine adds fields an upstream would reject (``context``; per message ``turn_id``,
``timestamp``, ``metadata``): they are read where useful and removed before the request goes
upstream. Retrieval uses ``context.dataset_ids`` (the key's account's datasets only) or the
datasets of the app the key is bound to, with that app's retrieval settings.
"""

from __future__ import annotations

import base64
import json
import random
import re
import time
import uuid
from collections.abc import Iterator

import sqlalchemy as sa
from flask import current_app

from llmops.errors import AppError, ValidateError
from llmops.extensions import db
from llmops.models import App, AppConfig, Dataset
from llmops.providers.errors import ProviderError
from llmops.providers.tts import EspeakTTS
from llmops.services.gateway import gateway_service
from llmops.services.gateway.api_key_service import KeyPrincipal
from llmops.services.knowledge import retrieval_service
from llmops.services.studio import chat_service

ENGINE_MESSAGE_FIELDS = ("turn_id", "timestamp", "metadata")
ENGINE_REQUEST_FIELDS = ("context",)
WAITING_PHRASES = ("Just a moment, I'm thinking...", "Let me check that for you...", "One moment, please...")
CONTEXT_TOKENS = 1500  # retrieved context kept in the prompt


def upstream_body(body: dict) -> dict:
    """The engine's request without the fields only the engine understands."""
    cleaned = {k: v for k, v in body.items() if k not in ENGINE_REQUEST_FIELDS}
    cleaned["messages"] = [{k: v for k, v in m.items() if k not in ENGINE_MESSAGE_FIELDS} if isinstance(m, dict) else m
                           for m in body.get("messages") or []]
    return cleaned


def waiting_chunk() -> dict:
    """Seed 001's first chunk of the RAG endpoint."""
    return {"id": "waiting_msg", "object": "chat.completion.chunk", "choices": [
        {"index": 0, "delta": {"role": "assistant", "content": random.choice(WAITING_PHRASES)}, "finish_reason": None}]}


def rag_datasets(principal: KeyPrincipal, body: dict) -> tuple[list[uuid.UUID], dict]:
    """(dataset ids, retrieval settings) for a RAG request; ``ValidateError`` naming
    ``context.dataset_ids`` when one is not the key's account's."""
    retrieval = {"retrieval_strategy": "hybrid", "k": 4, "score": 0.0}
    requested = ((body.get("context") or {}).get("dataset_ids")) or []
    if requested:
        try:
            ids = [uuid.UUID(str(i)) for i in requested]
        except ValueError as exc:
            raise ValidateError("context.dataset_ids: not dataset ids",
                                data={"context.dataset_ids": ["must be dataset ids"]}) from exc
        owned = set(db.session.scalars(sa.select(Dataset.id).where(Dataset.id.in_(ids),
                                                                   Dataset.account_id == principal.account_id)))
        if owned != set(ids):
            raise ValidateError("context.dataset_ids: unknown dataset", data={"context.dataset_ids": ["unknown dataset"]})
        return sorted(owned, key=str), retrieval
    if principal.app_id is None:
        return [], retrieval
    app = db.session.get(App, principal.app_id)
    config_id = (app.published_app_config_id or app.drafted_app_config_id) if app is not None else None
    config = db.session.get(AppConfig, config_id) if config_id else None
    if config is None or not config.dataset_ids:
        return [], retrieval
    ids = [uuid.UUID(i) for i in config.dataset_ids]
    owned = set(db.session.scalars(sa.select(Dataset.id).where(Dataset.id.in_(ids),
                                                               Dataset.account_id == principal.account_id)))
    return sorted(owned, key=str), {**retrieval, **(config.retrieval_config or {})}


def rag_stream(principal: KeyPrincipal, body: dict) -> Iterator[tuple[str, object]]:
    """Events: the waiting chunk at once, then retrieval, then the model's stream (``chunk``s, the
    relayed chunks' JSON bytes) and ``done``. Failures after the waiting chunk become an ``error``
    event, then ``done``."""
    yield "chunk", waiting_chunk()
    relay = None
    try:
        datasets, retrieval = rag_datasets(principal, body)
        request = upstream_body(body)
        query = next((m.get("content") for m in reversed(request["messages"])
                      if isinstance(m, dict) and m.get("role") == "user" and isinstance(m.get("content"), str)), "")
        if datasets and query:
            records = retrieval_service.retrieve(principal.account_id, datasets, query[:2000],
                                                 retrieval["retrieval_strategy"], int(retrieval["k"]),
                                                 float(retrieval["score"]), source="app", app_id=principal.app_id)
            block = chat_service.context_block(records, CONTEXT_TOKENS)
            if block:
                request["messages"] = [{"role": "system", "content": "Answer from the context when it is relevant."
                                        + block}, *request["messages"]]
        relay = gateway_service.chat_completions(principal, {**request, "stream": True}, surface="voice",
                                                 app_surface=True)
        for chunk in relay:
            yield "chunk", chunk  # the chunk's JSON as relayed (bytes)
        yield "done", None
    except AppError as exc:
        yield "error", {"message": exc.message, "type": exc.openai_type or "api_error", "param": None,
                        "code": exc.openai_code}
        yield "done", None
    finally:
        if relay is not None:
            relay.close()


AUDIO_CHUNK_BYTES = 1280  # 40 ms of PCM16 mono at 16 kHz
_SENTENCE_END = re.compile(r"[.!?。！？\n]")


def open_audio(principal: KeyPrincipal, body: dict) -> Iterator[tuple[str, object]]:
    """Seed 001's audio endpoint: the model's answer spoken (espeak-ng, PCM16 mono 16 kHz).

    Returns events: for each sentence as soon as the text stream completes it, a ``chunk`` with
    ``delta.audio = {id, transcript}`` and then its audio in 40 ms (1,280-byte) base64 chunks
    ``delta.audio = {id, data}``; ``done`` last (an upstream error chunk is relayed as it came).
    Speech is synthesised while the model keeps streaming, so the first audio leaves after the
    first sentence, not the whole answer.
    Raises the gateway's errors (401/403/404/429/5xx) before the first byte.
    """
    relay = gateway_service.chat_completions(principal, {**upstream_body(body), "stream": True}, surface="voice",
                                             app_surface=True)
    config = current_app.config
    return _audio_frames(relay, EspeakTTS(timeout_s=config["TTS_TIMEOUT_S"], max_output_bytes=config["TTS_MAX_OUTPUT_BYTES"]))


def _audio_frames(relay, tts: EspeakTTS) -> Iterator[tuple[str, object]]:
    audio_id = f"audio_{uuid.uuid4().hex}"
    pending = ""
    try:
        for payload in relay:  # each chunk's JSON (bytes)
            chunk = json.loads(payload)
            if "error" in chunk:
                yield "chunk", payload
                continue
            for choice in chunk.get("choices") or ():
                pending += (choice.get("delta") or {}).get("content") or ""
            while (match := _SENTENCE_END.search(pending)) is not None:
                sentence, pending = pending[:match.end()], pending[match.end():]
                yield from _speak(audio_id, sentence, tts)
        yield from _speak(audio_id, pending, tts)
    except ProviderError as exc:
        yield "error", {"message": exc.message, "type": "api_error", "param": None, "code": "speech_synthesis_failed"}
    finally:
        relay.close()
    yield "done", None


def _speak(audio_id: str, sentence: str, tts: EspeakTTS) -> Iterator[tuple[str, dict]]:
    if not sentence.strip():
        return
    yield _audio_chunk({"id": audio_id, "transcript": sentence})
    pcm = tts.synthesize(sentence)
    if len(pcm) % AUDIO_CHUNK_BYTES:
        pcm += b"\x00" * (AUDIO_CHUNK_BYTES - len(pcm) % AUDIO_CHUNK_BYTES)  # pad the last slice with silence
    for start in range(0, len(pcm), AUDIO_CHUNK_BYTES):
        yield _audio_chunk({"id": audio_id, "data": base64.b64encode(pcm[start:start + AUDIO_CHUNK_BYTES]).decode()})


def _audio_chunk(audio: dict) -> tuple[str, dict]:
    return "chunk", {"id": audio["id"], "object": "chat.completion.chunk", "created": int(time.time()),
                     "choices": [{"index": 0, "delta": {"role": "assistant", "audio": audio}, "finish_reason": None}]}
