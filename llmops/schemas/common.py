"""Shared schemas: the studio base schema and query schemas."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class StudioSchema(Schema):
    """Base of every studio request schema: unknown fields are ignored (front ends written for
    the course API send extra ones, e.g. ``fileList`` on app creation) while the known fields
    are validated strictly. The OpenAI-compatible schemas pass unknown fields upstream instead."""

    class Meta:
        unknown = EXCLUDE


class PaginationQuerySchema(StudioSchema):
    """``current_page`` ≥ 1 (default 1), ``page_size`` 1–50 (default 20)."""

    current_page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))


class MessagePaginationQuerySchema(PaginationQuerySchema):
    """Seed 1.6: at most 20 messages per page."""

    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=20))


class SearchPaginationQuerySchema(PaginationQuerySchema):
    search_word = fields.String(load_default="", validate=validate.Length(max=100))
