"""Seed 004's self-service page requests (``/api/redeem``; docs/api.md C4)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class RedeemSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
