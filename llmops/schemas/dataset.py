"""Dataset, document and hit-testing request schemas (docs/api.md A "Knowledge bases")."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from llmops.schemas.common import StudioSchema


class DatasetCreateSchema(StudioSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    icon = fields.String(load_default="", validate=validate.Length(max=512))
    description = fields.String(load_default="", validate=validate.Length(max=2000))


class DatasetUpdateSchema(StudioSchema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    icon = fields.String(validate=validate.Length(max=512))
    description = fields.String(validate=validate.Length(max=2000))


class PreProcessRuleSchema(StudioSchema):
    id = fields.String(required=True, validate=validate.OneOf(["remove_extra_space", "remove_url_and_email"]))
    enabled = fields.Boolean(required=True)


class SegmentRuleSchema(StudioSchema):
    separators = fields.List(fields.String(validate=validate.Length(min=1, max=10)), required=True,
                             validate=validate.Length(min=1, max=20))
    chunk_size = fields.Integer(required=True, validate=validate.Range(min=100, max=1000))
    chunk_overlap = fields.Integer(required=True, validate=validate.Range(min=0, max=500))

    @validates_schema
    def overlap_at_most_half(self, data, **kwargs):
        if data.get("chunk_overlap", 0) > data.get("chunk_size", 0) // 2:
            raise ValidationError("must be at most chunk_size / 2", field_name="chunk_overlap")


class ProcessRuleSchema(StudioSchema):
    pre_process_rules = fields.List(fields.Nested(PreProcessRuleSchema), required=True)
    segment = fields.Nested(SegmentRuleSchema, required=True)


class DocumentCreateSchema(StudioSchema):
    upload_file_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=10))
    process_type = fields.String(load_default="automatic", validate=validate.OneOf(["automatic", "custom"]))
    rule = fields.Nested(ProcessRuleSchema, load_default=None)

    @validates_schema
    def custom_needs_rule(self, data, **kwargs):
        if data.get("process_type") == "custom" and not data.get("rule"):
            raise ValidationError("required when process_type is custom", field_name="rule")


class DocumentRenameSchema(StudioSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))


class EnabledSchema(StudioSchema):
    enabled = fields.Boolean(required=True)


class HitTestingSchema(StudioSchema):
    query = fields.String(required=True, validate=validate.Length(min=1, max=200))
    retrieval_strategy = fields.String(load_default="semantic", validate=validate.OneOf(["semantic", "full_text", "hybrid"]))
    k = fields.Integer(load_default=4, validate=validate.Range(min=1, max=10))
    score = fields.Float(load_default=0.0, validate=validate.Range(min=0, max=0.99))


class SegmentCreateSchema(StudioSchema):
    content = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    keywords = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                           validate=validate.Length(max=20))


class SegmentUpdateSchema(StudioSchema):
    content = fields.String(validate=validate.Length(min=1, max=20000))
    keywords = fields.List(fields.String(validate=validate.Length(min=1, max=64)), validate=validate.Length(max=20))

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("give content and/or keywords")
