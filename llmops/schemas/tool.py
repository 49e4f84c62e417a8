"""Request schemas of the tool routes (course module 02) and the assistant agent (module 13)."""

from __future__ import annotations

from marshmallow import fields, validate

from llmops.schemas.common import StudioSchema


class HeaderSchema(StudioSchema):
    key = fields.String(required=True, validate=validate.Regexp(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$",
                                                                 error="must be an HTTP header name"))
    value = fields.String(required=True, validate=validate.Length(max=4000))


class OpenApiSchemaSchema(StudioSchema):
    """Course 2.12: ``openapi_schema`` (a JSON string, ≤ 100,000 characters)."""

    openapi_schema = fields.String(required=True, validate=validate.Length(min=1, max=100_000))


class ApiToolProviderSchema(OpenApiSchemaSchema):
    """Course 2.7/2.9: ``name`` (1–30), ``icon`` (URL), ``openapi_schema``, ``headers`` (≤ 20)."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=30))
    icon = fields.String(required=True, validate=validate.Length(min=1, max=512))
    headers = fields.List(fields.Nested(HeaderSchema), load_default=list, validate=validate.Length(max=20))


class AssistantChatSchema(StudioSchema):
    """Course 13.1: ``query``; ``image_urls`` accepted (≤ 5) and not sent to the model."""

    query = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    image_urls = fields.List(fields.Url(), load_default=list, validate=validate.Length(max=5))
