"""Seed 000's request bodies and queries (``/api/users``, ``/api/conversations``, ``/api/chat``,
``/api/rag``; docs/api.md C1). Unknown fields are ignored, as the seed's Gin binding did."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from llmops.schemas.account import validate_password

MAX_MESSAGE_CHARS = 32_000


class RegisterSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    username = fields.String(required=True, validate=[
        validate.Length(min=3, max=64),
        validate.Regexp(r"^[A-Za-z0-9_.\-]+$", error="letters, digits, '_', '.' and '-' only")])
    password = fields.String(required=True, validate=validate_password)
    # Required when ``REGISTRATION=invite`` (the seed had none: its clients must add it then).
    invite_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))


class LoginSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))


class CreateConversationSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    title = fields.String(load_default="New Conversation", validate=validate.Length(min=1, max=255))
    model = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=128))
    api_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=512))


class ChatSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    message = fields.String(required=True, validate=validate.Length(min=1, max=MAX_MESSAGE_CHARS))


class KbCreateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    kb_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    embedding_model = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))


class KbSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    kb_id = fields.UUID(required=True)


class DocDeleteSchema(KbSchema):
    doc_id = fields.UUID(required=True)


class RetrieveSchema(KbSchema):
    query = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    top_k = fields.Integer(load_default=5, validate=validate.Range(min=1, max=50))


class RagChatSchema(ChatSchema):
    conversation_id = fields.Integer(required=True, strict=False)
    kb_id = fields.UUID(required=True)
    top_k = fields.Integer(load_default=5, validate=validate.Range(min=1, max=50))


class ListSchema(Schema):
    """Lists and histories are paged: ``limit`` (default 100, at most 1000) from ``offset``."""

    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**9))


class HistorySchema(ListSchema):
    """A history's rounds (question + answer) are paged: ``limit`` rounds (default 200) from ``offset``."""

    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))
