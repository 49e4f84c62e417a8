"""App template requests (course module 10); unknown fields are ignored."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields


class AddBuiltinAppSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    builtin_app_id = fields.UUID(required=True)
