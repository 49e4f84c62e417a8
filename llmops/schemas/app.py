"""App, configuration and debug-chat request schemas (seed 002 §01, docs/api.md A "Apps")."""

from __future__ import annotations

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from llmops.schemas.common import StudioSchema


class AppCreateSchema(StudioSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    icon = fields.String(load_default="", validate=validate.Length(max=512))
    description = fields.String(load_default="", validate=validate.Length(max=800))


class AppUpdateSchema(StudioSchema):
    name = fields.String(validate=validate.Length(min=1, max=40))
    icon = fields.String(validate=validate.Length(max=512))
    description = fields.String(validate=validate.Length(max=800))

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("give at least one of name, icon, description")


class ModelParametersSchema(StudioSchema):
    temperature = fields.Float(validate=validate.Range(min=0, max=2))
    top_p = fields.Float(validate=validate.Range(min=0, max=1))
    max_tokens = fields.Integer(validate=validate.Range(min=1, max=32768))
    presence_penalty = fields.Float(validate=validate.Range(min=-2, max=2))
    frequency_penalty = fields.Float(validate=validate.Range(min=-2, max=2))


class ModelConfigSchema(StudioSchema):
    provider = fields.String(validate=validate.Length(min=1, max=64))
    model = fields.String(validate=validate.Length(min=1, max=128))
    parameters = fields.Nested(ModelParametersSchema)
    dialog_round = fields.Integer(validate=validate.Range(min=0, max=100))


class RetrievalConfigSchema(StudioSchema):
    retrieval_strategy = fields.String(validate=validate.OneOf(["semantic", "full_text", "hybrid"]))
    k = fields.Integer(validate=validate.Range(min=1, max=10))
    score = fields.Float(validate=validate.Range(min=0, max=0.99))


class AppToolRefSchema(StudioSchema):
    """A tool bound to the app (checked against the tools by ``tool_service.check_app_tools``)."""

    type = fields.String(required=True, validate=validate.OneOf(["builtin_tool", "api_tool"]))
    provider_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    tool_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    params = fields.Dict(load_default=dict)


class AppConfigUpdateSchema(StudioSchema):
    """Seed 1.2: a partial update of the draft; only the keys given change."""

    model_config = fields.Nested(ModelConfigSchema)
    memory_mode = fields.String(validate=validate.OneOf(["long_term_memory", "none"]))
    preset_prompt = fields.String(validate=validate.Length(max=2000))
    dataset_ids = fields.List(fields.UUID(), validate=validate.Length(max=5))
    retrieval_config = fields.Nested(RetrievalConfigSchema)
    opening_statement = fields.String(validate=validate.Length(max=2000))
    tools = fields.List(fields.Nested(AppToolRefSchema), validate=validate.Length(max=100))

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("give at least one configuration field")

    @post_load
    def ids_as_strings(self, data, **kwargs):
        if "dataset_ids" in data:  # stored in a JSON column
            data["dataset_ids"] = list(dict.fromkeys(str(i) for i in data["dataset_ids"]))
        return data


class FallbackHistorySchema(StudioSchema):
    app_config_version_id = fields.UUID(required=True)


class LongTermMemoryUpdateSchema(StudioSchema):
    summary = fields.String(required=True, validate=validate.Length(max=4000))


class DebugChatSchema(StudioSchema):
    """Seed 1.5: ``query``; ``stream`` selects the SSE form."""

    query = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    stream = fields.Boolean(load_default=False)
