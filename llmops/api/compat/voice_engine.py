"""Seed 001, the voice AI engine's "custom LLM" (docs/api.md C2): ``/chat/completions``,
``/rag/chat/completions`` and ``/audio/chat/completions`` with API-key auth and OpenAI's chunk
and error shapes (the service's events framed by ``openai_frame``)."""

from __future__ import annotations

from flask import Blueprint, stream_with_context

from llmops.api.auth import api_key_required
from llmops.api.responses import json_body
from llmops.api.sse import framed_response, json_or_sse
from llmops.schemas.openai import VoiceEngineChatSchema
from llmops.services.compat import voice_engine_service
from llmops.services.gateway import gateway_service

bp = Blueprint("voice_engine", __name__)
CHAT_SCHEMA = VoiceEngineChatSchema()


def _body() -> dict:
    body = json_body()
    body.setdefault("stream", True)  # the engine's default
    CHAT_SCHEMA.load({**voice_engine_service.upstream_body(body), "context": body.get("context")})
    return body


@bp.post("/chat/completions")
@api_key_required
def chat_completions(principal):
    """Seed 001: the voice engine's custom LLM (OpenAI stream)."""
    body = voice_engine_service.upstream_body(_body())
    return json_or_sse(gateway_service.chat_completions(principal, body, surface="voice", app_surface=True), framed=True)


@bp.post("/rag/chat/completions")
@api_key_required
def rag_chat_completions(principal):
    """Seed 001: the voice engine's custom LLM grounded on a dataset."""
    body = _body()
    return framed_response(stream_with_context(voice_engine_service.rag_stream(principal, body)))


@bp.post("/audio/chat/completions")
@api_key_required
def audio_chat_completions(principal):
    """Seed 001: chat whose stream also carries the answer as speech (16 kHz PCM)."""
    return framed_response(voice_engine_service.open_audio(principal, _body()))
