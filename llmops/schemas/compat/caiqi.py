"""Seed 003's request bodies (``/api/v1``; docs/api.md C3): OpenAI-shaped, unknown fields kept
and forwarded upstream."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from llmops.schemas.openai import ChatMessageSchema


class Seed003ChatSchema(Schema):
    class Meta:
        unknown = INCLUDE

    messages = fields.List(fields.Nested(ChatMessageSchema), required=True, validate=validate.Length(min=1, max=2000))
    model = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=128))
    stream = fields.Boolean(load_default=False)
