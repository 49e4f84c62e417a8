"""AI helper requests (course module 08); unknown fields are ignored, as the course platform did."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class OptimizePromptSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    prompt = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class SuggestedQuestionsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    message_id = fields.UUID(required=True)
