"""Request schemas of the course front end's routes (the course platform's API, modules 01, 03,
04, 07, 09): its field names, mapped onto ours by ``post_load`` where they differ."""

from __future__ import annotations

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from llmops.schemas.api_key import LAST_EXPIRY
from llmops.schemas.app import ModelParametersSchema, RetrievalConfigSchema
from llmops.schemas.common import PaginationQuerySchema, StudioSchema


class CourseModelConfigSchema(StudioSchema):
    provider = fields.String(required=True, validate=validate.Length(min=1, max=64))
    model = fields.String(required=True, validate=validate.Length(min=1, max=128))
    parameters = fields.Nested(ModelParametersSchema, load_default=dict)


class ToolRefSchema(StudioSchema):
    """A tool bound to the app, as the course writes it (checked by ``tool_service.check_app_tools``)."""

    type = fields.String(required=True, validate=validate.OneOf(["builtin_tool", "api_tool"]))
    provider_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    tool_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    params = fields.Dict(load_default=dict)


class EnableSchema(StudioSchema):
    enable = fields.Boolean(required=True)


class TextToSpeechSchema(StudioSchema):
    enable = fields.Boolean(required=True)
    voice = fields.String(load_default="echo", validate=validate.Length(min=1, max=64))
    auto_play = fields.Boolean(load_default=False)


class ReviewInputsSchema(StudioSchema):
    enable = fields.Boolean(required=True)
    preset_response = fields.String(load_default="", validate=validate.Length(max=2000))


class ReviewConfigSchema(StudioSchema):
    """Keyword moderation: ``keywords`` (≤ 100), inputs answered with ``preset_response``,
    outputs masked with ``**``."""

    enable = fields.Boolean(required=True)
    keywords = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list,
                           validate=validate.Length(max=100))
    inputs_config = fields.Nested(ReviewInputsSchema, load_default=lambda: {"enable": False, "preset_response": ""})
    outputs_config = fields.Nested(EnableSchema, load_default=lambda: {"enable": False})

    @validates_schema
    def consistent(self, data, **kwargs):
        if not data.get("enable"):
            return
        if not data.get("keywords"):
            raise ValidationError("give at least one keyword when review is enabled", field_name="keywords")
        inputs, outputs = data.get("inputs_config") or {}, data.get("outputs_config") or {}
        if not inputs.get("enable") and not outputs.get("enable"):
            raise ValidationError("enable inputs_config and/or outputs_config when review is enabled",
                                  field_name="inputs_config")
        if inputs.get("enable") and not inputs.get("preset_response", "").strip():
            raise ValidationError({"preset_response": ["required when input review is enabled"]},
                                  field_name="inputs_config")


class CourseDraftConfigSchema(StudioSchema):
    """Course 1.8: an incremental update of the draft in the course's field names."""

    model_config = fields.Nested(CourseModelConfigSchema)
    dialog_round = fields.Integer(validate=validate.Range(min=0, max=100))
    preset_prompt = fields.String(validate=validate.Length(max=2000))
    tools = fields.List(fields.Nested(ToolRefSchema), validate=validate.Length(max=100))
    workflows = fields.List(fields.UUID(), validate=validate.Length(max=5))
    datasets = fields.List(fields.UUID(), validate=validate.Length(max=5))
    retrieval_config = fields.Nested(RetrievalConfigSchema)
    long_term_memory = fields.Nested(EnableSchema)
    opening_statement = fields.String(validate=validate.Length(max=2000))
    opening_questions = fields.List(fields.String(validate=validate.Length(min=1, max=255)),
                                    validate=validate.Length(max=3))
    speech_to_text = fields.Nested(EnableSchema)
    text_to_speech = fields.Nested(TextToSpeechSchema)
    suggested_after_answer = fields.Nested(EnableSchema)
    review_config = fields.Nested(ReviewConfigSchema)

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("give at least one configuration field")

    @post_load
    def to_our_fields(self, data, **kwargs) -> dict:
        """→ the changes ``app_service.update_draft_config`` takes."""
        changes = dict(data)
        if "model_config" in changes or "dialog_round" in changes:
            model_config = changes.pop("model_config", {})
            if "dialog_round" in changes:
                model_config["dialog_round"] = changes.pop("dialog_round")
            changes["model_config"] = model_config
        if "long_term_memory" in changes:
            changes["memory_mode"] = "long_term_memory" if changes.pop("long_term_memory")["enable"] else "none"
        if "datasets" in changes:
            changes["dataset_ids"] = list(dict.fromkeys(str(i) for i in changes.pop("datasets")))
        if "workflows" in changes:
            changes["workflows"] = list(dict.fromkeys(str(i) for i in changes["workflows"]))
        return changes


class CourseChatSchema(StudioSchema):
    """Course 1.11: ``query``; ``image_urls`` are accepted (≤ 5) and not yet sent to the model."""

    query = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    image_urls = fields.List(fields.Url(), load_default=list, validate=validate.Length(max=5))


class CourseMessagesQuerySchema(PaginationQuerySchema):
    """Course 1.13: ``created_at`` (Unix seconds) freezes the list at that instant: only messages
    created at or before it are paged (0 or absent: now)."""

    created_at = fields.Integer(load_default=0, validate=validate.Range(min=0, max=LAST_EXPIRY))


class SummarySchema(StudioSchema):
    summary = fields.String(required=True, validate=validate.Length(max=4000))


class AvatarSchema(StudioSchema):
    avatar = fields.Url(required=True, relative=True, require_tld=False, validate=validate.Length(max=512))


class CourseApiKeyCreateSchema(StudioSchema):
    """Course 9.1: ``is_active`` and ``remark`` (≤ 100)."""

    is_active = fields.Boolean(required=True)
    remark = fields.String(load_default="", validate=validate.Length(max=100))


class CourseApiKeyUpdateSchema(StudioSchema):
    is_active = fields.Boolean(required=True)
    remark = fields.String(validate=validate.Length(max=100))


class OpenApiChatSchema(StudioSchema):
    """Course 9.6: a turn of the published app ``app_id`` (the key's account must own it)."""

    app_id = fields.UUID(required=True)
    end_user_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=255))
    conversation_id = fields.UUID(load_default=None, allow_none=True)
    query = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    image_urls = fields.List(fields.Url(), load_default=list, validate=validate.Length(max=5))
    stream = fields.Boolean(required=True)
