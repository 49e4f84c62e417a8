"""Validation of OpenAI-shaped requests (docs/api.md B). Unknown fields are accepted and forwarded
upstream unchanged: these schemas only check what the gateway itself relies on."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate

MAX_EMBEDDING_INPUTS = 2048


class ChatMessageSchema(Schema):
    class Meta:
        unknown = INCLUDE

    role = fields.String(required=True, validate=validate.OneOf(["system", "user", "assistant", "tool", "developer",
                                                                   "function"]))
    content = fields.Raw(allow_none=True)


class ChatCompletionSchema(Schema):
    class Meta:
        unknown = INCLUDE

    model = fields.String(required=True, validate=validate.Length(min=1, max=128))
    messages = fields.List(fields.Nested(ChatMessageSchema), required=True, validate=validate.Length(min=1, max=2000))
    stream = fields.Boolean(allow_none=True)
    stream_options = fields.Dict(allow_none=True)
    max_tokens = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=1_000_000))
    max_completion_tokens = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=1_000_000))
    temperature = fields.Float(allow_none=True, validate=validate.Range(min=0, max=2))
    top_p = fields.Float(allow_none=True, validate=validate.Range(min=0, max=1))


class EmbeddingInput(fields.Field):
    """OpenAI's ``input``: a non-empty string or a list of 1–2048 non-empty strings (token-id
    arrays are not supported: our models take text)."""

    def _deserialize(self, value, attr, data, **kwargs):
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_EMBEDDING_INPUTS:
            raise ValidationError(f"must be a string or a list of 1 to {MAX_EMBEDDING_INPUTS} strings")
        if not all(isinstance(item, str) and item for item in items):
            raise ValidationError("every item must be a non-empty string")
        return value


class EmbeddingSchema(Schema):
    class Meta:
        unknown = INCLUDE

    model = fields.String(required=True, validate=validate.Length(min=1, max=128))
    input = EmbeddingInput(required=True)
    encoding_format = fields.String(allow_none=True, validate=validate.OneOf(["float", "base64"]))


class AppChatSchema(Schema):
    """Open API ``POST /v1/apps/:app_id/chat`` (docs/api.md B)."""

    query = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    conversation_id = fields.UUID(load_default=None, allow_none=True)
    end_user_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))
    stream = fields.Boolean(load_default=False)


class VoiceEngineContextSchema(Schema):
    """Seed 001's ``context`` object (``appId``, ``userId``, ``channel``, ...); we read ``dataset_ids``."""

    class Meta:
        unknown = INCLUDE

    dataset_ids = fields.List(fields.UUID(), load_default=None, validate=validate.Length(max=10))


class VoiceEngineChatSchema(ChatCompletionSchema):
    """A chat request of the voice AI engine (seed 001): OpenAI's plus ``context``."""

    context = fields.Nested(VoiceEngineContextSchema, allow_none=True)
