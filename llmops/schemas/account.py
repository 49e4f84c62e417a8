"""Account request schemas (docs/api.md A "Accounts")."""

from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate

from llmops.models.api_key import MODEL_KINDS
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


class RedeemCodeSchema(StudioSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))


class AdminRedeemCodesSchema(Schema):
    """``POST /admin/redeem-codes``: ``count`` codes worth ``quota`` credits each, valid until
    ``expires_at`` (Unix seconds; null: forever)."""

    count = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))
    quota = fields.Integer(required=True, validate=validate.Range(min=1, max=10**15))  # credits
    expires_at = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=LAST_EXPIRY))


class AdminRedeemCodeListSchema(PaginationQuerySchema):
    status = fields.String(load_default=None, validate=validate.OneOf(["unused", "redeemed"]))


class AdminActiveModelSchema(Schema):
    """``POST /admin/models/active``: the model every process uses by default for ``kind``."""

    kind = fields.String(required=True, validate=validate.OneOf(MODEL_KINDS))
    provider = fields.String(required=True, validate=validate.Length(min=1, max=64))
    model = fields.String(required=True, validate=validate.Length(min=1, max=128))


class AdminAccountQuerySchema(StudioSchema):
    """``GET /admin/accounts``: ``search_word`` in the e-mail or name; pages of 1–100."""

    search_word = fields.String(load_default="", validate=validate.Length(max=255))
    current_page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


def _nonzero(value: int) -> None:
    if value == 0:
        raise ValidationError("must not be 0")


class AccountAdjustSchema(StudioSchema):
    """``POST /admin/accounts/:id``: ``amount`` in credits (1 credit = 1e-6 USD), positive to
    credit, negative to debit; ``reason`` kept in the ledger."""

    amount = fields.Integer(required=True, strict=True,
                            validate=[validate.Range(min=-(10**15), max=10**15), _nonzero])
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ModelPriceSchema(StudioSchema):
    """``POST /admin/models``: a model added under a provider, or re-priced; prices in USD per
    1M tokens (= credits per token)."""

    provider = fields.String(required=True, validate=validate.Length(min=1, max=64))
    model = fields.String(required=True, validate=validate.Length(min=1, max=128))
    kind = fields.String(load_default="language", validate=validate.OneOf(MODEL_KINDS))
    input_price = fields.Float(required=True, validate=validate.Range(min=0, max=1_000_000))
    output_price = fields.Float(required=True, validate=validate.Range(min=0, max=1_000_000))
    context_window = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=10**8))
    max_output = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=10**7))
