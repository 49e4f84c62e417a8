"""Web-app, end-user conversation and analysis request schemas (course modules 05, 14, 15).

Unknown fields are ignored (the course platform's front ends send extra keys)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

from llmops.schemas.api_key import LAST_EXPIRY
from llmops.schemas.common import PaginationQuerySchema


class _Tolerant(Schema):
    class Meta:
        unknown = EXCLUDE


class WebAppChatSchema(_Tolerant):
    """§15.2: ``query``; ``conversation_id`` empty or absent starts a new conversation;
    ``image_urls`` (at most 5) is accepted and not used (no multimodal models yet)."""

    conversation_id = fields.UUID(load_default=None, allow_none=True)
    query = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    image_urls = fields.List(fields.URL(), load_default=list, validate=validate.Length(max=5))

    @pre_load
    def empty_id_is_none(self, data, **kwargs):
        if isinstance(data, dict) and data.get("conversation_id") == "":
            data = {**data, "conversation_id": None}
        return data


class ConversationListQuerySchema(_Tolerant):
    """§5.1: ``is_pinned`` true → the pinned conversations, else the others."""

    is_pinned = fields.Boolean(load_default=False)


class ConversationMessagesQuerySchema(PaginationQuerySchema):
    """§5.2: pages of rounds, newest first; ``created_at`` (Unix seconds, 0 = none) keeps only
    rounds created at or before it, so new rounds do not shift the pages being read."""

    class Meta:
        unknown = EXCLUDE

    created_at = fields.Integer(load_default=0, validate=validate.Range(min=0, max=LAST_EXPIRY))


class ConversationNameSchema(_Tolerant):
    """§5.6: 1–100 characters."""

    name = fields.String(required=True, validate=[validate.Length(min=1, max=100),
                                                  validate.Regexp(r"(?s).*\S", error="must not be blank")])


class ConversationPinSchema(_Tolerant):
    """§5.7."""

    is_pinned = fields.Boolean(required=True)
