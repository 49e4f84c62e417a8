"""Account request schemas (API.md A "Accounts")."""

from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validate

from llmops.schemas.api_key import LAST_EXPIRY
from llmops.schemas.common import PaginationQuerySchema, StudioSchema


def validate_password(value: str) -> None:
    """8–64 characters with at least one letter and one digit."""
    if not 8 <= len(value) <= 64:
        raise ValidationError("must be 8 to 64 characters long")
    if not re.search(r"[A-Za-z]", value) or not re.search(r"\d", value):
        raise ValidationError("must contain at least one letter and one digit")


def validate_deliverable_domain(value: str) -> None:
    """Refuses the reserved ``.invalid`` domain (RFC 2606): seed-000 accounts get addresses there,
    so a studio registration must not claim one (it would block or shadow that user name)."""
    if value.strip().rstrip(".").lower().endswith(".invalid"):
        raise ValidationError("the .invalid domain is reserved")


class RegisterSchema(StudioSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    email = fields.Email(required=True, validate=[validate.Length(max=255), validate_deliverable_domain])
    password = fields.String(required=True, validate=validate_password)
    # Required when ``REGISTRATION=invite``; ignored otherwise.
    invite_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))


class PasswordLoginSchema(StudioSchema):
    email = fields.Email(required=True)
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))


class AccountNameSchema(StudioSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class AccountPasswordSchema(StudioSchema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=128))
    password = fields.String(required=True, validate=validate_password)


class InviteCodesSchema(StudioSchema):
    count = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1000))
    expires_at = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=LAST_EXPIRY))


class InviteCodeListSchema(PaginationQuerySchema):
    status = fields.String(load_default=None, validate=validate.OneOf(("unused", "used", "expired")))
