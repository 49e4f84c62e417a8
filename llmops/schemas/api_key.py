"""API key request schemas (docs/api.md A "API keys, usage, models, admin")."""

from __future__ import annotations

from marshmallow import fields, validate

from llmops.schemas.common import PaginationQuerySchema, StudioSchema

MAX_QUOTA = 10**15
MAX_INT32 = 2**31 - 1  # rpm/tpm/max_streams are INTEGER columns
LAST_EXPIRY = 32_503_680_000  # 3000-01-01 in Unix seconds: later dates overflow datetime


class ApiKeyCreateSchema(StudioSchema):
    """``quota``: the key's own cap in credits, 1 credit = 1e-6 USD (absent/null: only the
    account's balance limits it); ``expires_at`` in Unix seconds; ``models`` an allow-list of model
    names (empty: all); ``rpm``/``tpm`` per-minute limits, ``max_streams`` concurrent streams
    (null: none)."""

    remark = fields.String(load_default="", validate=validate.Length(max=255))
    quota = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=MAX_QUOTA))
    expires_at = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=LAST_EXPIRY))
    models = fields.List(fields.String(validate=validate.Length(min=1, max=128)), load_default=list,
                         validate=validate.Length(max=100))
    rpm = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=1_000_000))
    tpm = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=MAX_INT32))
    max_streams = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=100_000))
    app_id = fields.UUID(load_default=None, allow_none=True)


class ApiKeyUpdateSchema(StudioSchema):
    remark = fields.String(validate=validate.Length(max=255))
    quota = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=MAX_QUOTA))
    expires_at = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=LAST_EXPIRY))
    models = fields.List(fields.String(validate=validate.Length(min=1, max=128)), validate=validate.Length(max=100))
    rpm = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=1_000_000))
    tpm = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_INT32))
    max_streams = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=100_000))
    app_id = fields.UUID(allow_none=True)


class IsActiveSchema(StudioSchema):
    is_active = fields.Boolean(required=True)


class UsageQuerySchema(StudioSchema):
    """``GET /usage``: UTC days ``start_date`` (inclusive) to ``end_date`` (exclusive), YYYY-MM-DD."""

    start_date = fields.String(load_default=None, validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}$"))
    end_date = fields.String(load_default=None, validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}$"))
    api_key_id = fields.UUID(load_default=None)


class ApiKeysUsageLogQuerySchema(PaginationQuerySchema):
    """``GET /usage/logs``: the account's request log, pages of ``PaginationQuerySchema``;
    ``api_key_id`` keeps one key's requests."""

    api_key_id = fields.UUID(load_default=None)
