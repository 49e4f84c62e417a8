"""Third-party login requests (course module 06); unknown fields are ignored."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class OAuthAuthorizeSchema(Schema):
    """Course 6.2: the ``code`` the provider sent back, with its ``state`` (CSRF check)."""

    class Meta:
        unknown = EXCLUDE

    code = fields.String(required=True, validate=validate.Length(min=1, max=512))
    state = fields.String(load_default=None, validate=validate.Length(max=256))
    # a new account under ``REGISTRATION=invite``
    invite_code = fields.String(load_default=None, validate=validate.Length(max=64))
