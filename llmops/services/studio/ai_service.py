"""AI helpers of the studio (course module 08): prompt optimisation and suggested questions.

Both call the helper model (``chat_service.helper_model``: the admin's active language model,
else the configured default) through ``chat_service``, on behalf of the calling account.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Iterator

import sqlalchemy as sa
from flask import current_app

from llmops.errors import AppError, NotFoundError
from llmops.extensions import db
from llmops.models import Conversation, Message
from llmops.services.studio import chat_service

QUESTION_COUNT = 3
# how much of the conversation the suggestions see
CONTEXT_ROUNDS = 3
CONTEXT_CHARS = 3000

OPTIMIZE_PROMPT_SYSTEM = """You are an expert prompt engineer. Rewrite the user's draft system prompt for an AI \
assistant into a clear, well-structured prompt. Keep the author's intent and every concrete detail; add nothing \
that contradicts it. Use this structure in Markdown:
# Role
(who the assistant is, one or two sentences)
## Skills
(numbered skills, each with a short description of how to apply it)
## Constraints
(bullet points: what to avoid, scope, tone, output format)
Write the result in the same language as the draft. Output only the rewritten prompt, without any introduction."""

SUGGEST_SYSTEM = """You suggest what the user could ask next. Reply with 3 short questions from the user's point of \
view, in the user's language, one per line, each ending with a question mark. Write nothing else."""
# one worked example: small models follow it far better than instructions alone
SUGGEST_EXAMPLE = [
    {"role": "user", "content": "Conversation:\nUser: How do I learn to swim?\nAssistant: Start in shallow water with "
                                "a teacher and practise floating and kicking.\n\nQuestions the user could ask next:"},
    {"role": "assistant", "content": "How long does it take to learn to swim?\nWhat should I wear for my first "
                                     "lesson?\nIs it too late to learn as an adult?"},
]

FALLBACK_QUESTIONS = {
    "en": ["Can you explain that in more detail?", "Can you give me an example?", "What should I do next?"],
    "zh": ["能再详细解释一下吗？", "能举个例子吗？", "接下来我应该怎么做？"],
}

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")
_QUESTION = re.compile(r"[^\n.!?。！？\"“”]*[?？]")
_BULLET = re.compile(r"^\s*(?:[-*•·>]+|\(?\d{1,2}[.)、:：]|\d{1,2}\s|q\d*[.:：)]|question\s*\d*[.:：])\s*", re.IGNORECASE)


def optimize_prompt(account_id: uuid.UUID, prompt: str) -> Iterator[tuple[str, dict]]:
    """Course 8.1: the optimised prompt as SSE events ``optimize_prompt`` ``{optimized_prompt: piece}``.
    ``FailError`` before the stream when the helper model is not configured."""
    messages = [{"role": "system", "content": OPTIMIZE_PROMPT_SYSTEM},
                {"role": "user", "content": f"Draft prompt:\n{prompt}"}]
    pieces = chat_service.helper_stream(account_id, "optimize_prompt", messages, temperature=0.5)

    def events() -> Iterator[tuple[str, dict]]:
        with contextlib.closing(pieces):
            for piece in pieces:
                yield "optimize_prompt", {"optimized_prompt": piece}

    return events()


def suggested_questions(account_id: uuid.UUID, message_id: uuid.UUID) -> list[str]:
    """Course 8.2: 3 questions the user could ask after the message ``message_id`` (one of the
    caller's own messages, else ``NotFoundError``); the model's reply is parsed leniently and
    completed with generic questions. Provider failures raise (502/504)."""
    message = _owned_message(account_id, message_id)
    return _generate(account_id, message)


def questions_for_message(account_id: uuid.UUID, message_id: uuid.UUID) -> list[str]:
    """Like ``suggested_questions`` but never raises: any failure gives the generic questions
    (used at the end of a chat stream)."""
    try:
        return _generate(account_id, _owned_message(account_id, message_id))
    except AppError as exc:
        current_app.logger.warning("suggested questions failed: %s", exc.message)
        return FALLBACK_QUESTIONS["en"][:QUESTION_COUNT]


def parse_questions(text: str, context: str = "") -> list[str]:
    """Up to 3 questions out of a model's reply: the strings of a JSON array if there is one (those
    ending with a question mark first), else every sentence of the text that ends with a question
    mark (bullets, numbering and quotes removed: small models wrap them in odd JSON); junk (too
    short or long, no letters, headings, the user's own question, repeats) dropped."""
    candidates: list[str] = []
    for match in re.finditer(r"\[[^\[\]]*\]", text, re.DOTALL):
        try:
            value = json.loads(match.group(0))
        except ValueError:
            continue
        if isinstance(value, list):
            candidates.extend(v for v in value if isinstance(v, str))
    from_lines = not candidates
    if from_lines:
        candidates = [_BULLET.sub("", q.strip()) for q in _QUESTION.findall(text)]
    cleaned: list[str] = []
    seen = {context.strip().lower(), *(q.lower() for q in SUGGEST_EXAMPLE[1]["content"].splitlines())}
    for candidate in candidates:
        question = re.sub(r"\s+", " ", candidate).strip().strip("\"'`“”‘’*").strip()
        key = question.lower()
        if (not 2 <= len(question) <= 150 or not _LETTER.search(question) or question.endswith((":", "："))
                or key in seen):
            continue
        seen.add(key)
        cleaned.append(question)
    asked = [q for q in cleaned if q.endswith(("?", "？"))]
    questions = asked if from_lines else asked + [q for q in cleaned if q not in asked]
    return questions[:QUESTION_COUNT]


def fallback_questions(sample: str) -> list[str]:
    """Generic follow-up questions in the language of ``sample`` (Chinese or English)."""
    return list(FALLBACK_QUESTIONS["zh" if _CJK.search(sample) else "en"])


def _generate(account_id: uuid.UUID, message: Message) -> list[str]:
    rows = db.session.execute(
        sa.select(Message.query, Message.answer)
        .where(Message.conversation_id == message.conversation_id, Message.is_deleted.is_(False),
               Message.created_at <= message.created_at, Message.id != message.id)
        .order_by(Message.created_at.desc()).limit(CONTEXT_ROUNDS - 1)
    ).all()
    rounds = [*reversed(rows), (message.query, message.answer)]
    transcript = "\n".join(f"User: {q}\nAssistant: {a}" for q, a in rounds)[-CONTEXT_CHARS:]
    messages = [{"role": "system", "content": SUGGEST_SYSTEM}, *SUGGEST_EXAMPLE,
                {"role": "user", "content": f"Conversation:\n{transcript}\n\nQuestions the user could ask next:"}]
    reply = chat_service.helper_complete(account_id, "suggested_questions", messages, temperature=0.3,
                                         max_tokens=160)
    questions = parse_questions(reply, message.query)
    for fallback in fallback_questions(message.query + message.answer):
        if len(questions) >= QUESTION_COUNT:
            break
        if fallback not in questions:
            questions.append(fallback)
    return questions


def _owned_message(account_id: uuid.UUID, message_id: uuid.UUID) -> Message:
    """A message of the caller: of their own apps (debug, open API) or of their web-app conversations."""
    message = db.session.get(Message, message_id)
    if message is not None and not message.is_deleted:
        if message.account_id == account_id:
            return message
        conversation = db.session.get(Conversation, message.conversation_id)
        if conversation is not None and conversation.created_by == account_id:
            return message
    raise NotFoundError("message not found", data={"message_id": ["no such message of yours"]})
