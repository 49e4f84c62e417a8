"""AI helpers (course module 08): prompt optimisation (SSE) and suggested questions."""

from __future__ import annotations

from flask import Blueprint
from flask_jwt_extended import jwt_required

from llmops.api.auth import current_account_id
from llmops.api.responses import json_body, ok
from llmops.api.sse import frame, sse_response
from llmops.schemas.ai import OptimizePromptSchema, SuggestedQuestionsSchema
from llmops.services.studio import ai_service

bp = Blueprint("ai", __name__)


@bp.post("/ai/optimize-prompt")
@bp.post("/ai/prompt-optimize")  # the path of the course document's request example
@jwt_required()
def optimize_prompt():
    """Rewrite a prompt into a better one with the active model (course 08; SSE events optimize_prompt)."""
    data = OptimizePromptSchema().load(json_body())
    # plain frames: the course's events carry only ``optimized_prompt``
    return sse_response(ai_service.optimize_prompt(current_account_id(), data["prompt"]), render=frame)


@bp.post("/ai/suggested-questions")
@bp.post("/ai/suggested_questions")  # the path of the course document's request example
@jwt_required()
def suggested_questions():
    """Three follow-up questions for a message of the caller's conversation (course 08)."""
    data = SuggestedQuestionsSchema().load(json_body())
    return ok(ai_service.suggested_questions(current_account_id(), data["message_id"]))
