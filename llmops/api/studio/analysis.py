"""App analysis (course module 14)."""

from __future__ import annotations

import uuid

from flask import Blueprint
from flask_jwt_extended import jwt_required

from llmops.api.auth import current_account_id
from llmops.api.responses import ok
from llmops.services.studio import analysis_service

bp = Blueprint("analysis", __name__)


@bp.get("/analysis/<uuid:app_id>")
@jwt_required()
def get_analysis(app_id: uuid.UUID):
    """An app's statistics over the last 7 days against the 7 before: messages, accounts, tokens, cost (course 14)."""
    return ok(analysis_service.get_analysis(current_account_id(), app_id))
