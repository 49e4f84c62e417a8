"""Object recognition with the active vision model (seed 003 ``/api/v1/vision/completions``).

The image goes to the model as an OpenAI vision message (a ``data:`` URL) through the gateway,
so the calling key's quota, limits and usage apply. The model is asked for JSON
``{"objects": [{"name", "description"}]}``; its answer is parsed tolerantly (a JSON object inside
prose or a code fence is found; a plain-text answer becomes one object) because small vision
models do not always follow the format.
"""

from __future__ import annotations

import base64
import json
import re

from llmops.errors import AppError
from llmops.services import gateway_service, model_service
from llmops.services.api_key_service import KeyPrincipal

PROMPT = ("What is the main object in this image? Answer with JSON only, in this shape: "
          '{"objects": [{"name": "<object>", "description": "<one sentence>"}]}')
IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF87a": "image/gif",
               b"GIF89a": "image/gif"}
_OBJECT = re.compile(r"\{.*\}", re.S)


class UnsupportedImageError(AppError):
    code, status, default_message = "validate_error", 415, "The file is not a PNG, JPEG, GIF or WebP image"


def image_mime_type(data: bytes) -> str:
    """The MIME type from the image's magic bytes; ``UnsupportedImageError`` (415) otherwise."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, mime in IMAGE_TYPES.items():
        if data.startswith(magic):
            return mime
    raise UnsupportedImageError()


def recognize(principal: KeyPrincipal, image: bytes, model: str | None) -> dict:
    """``{recognition_id, objects[{name, description}]}`` for ``image`` (seed 003's shape)."""
    mime = image_mime_type(image)
    name = model or model_service.active_model_name("vision")
    data_url = f"data:{mime};base64,{base64.b64encode(image).decode()}"
    result = gateway_service.chat_completions(principal, {
        "model": name, "max_tokens": 300, "temperature": 0,
        "messages": [{"role": "user", "content": [{"type": "text", "text": PROMPT},
                                                  {"type": "image_url", "image_url": {"url": data_url}}]}],
    })
    answer = "".join(((c.get("message") or {}).get("content") or "") for c in result.get("choices") or [])
    return {"recognition_id": result.get("id", ""), "objects": parse_objects(answer)}


def parse_objects(answer: str) -> list[dict]:
    """The ``objects`` of a model answer; a non-JSON answer becomes one object (name = first line)."""
    match = _OBJECT.search(answer)
    if match:
        try:
            parsed = json.loads(match.group(0))
        except ValueError:
            parsed = None
        items = parsed.get("objects") if isinstance(parsed, dict) else None
        if isinstance(items, list):
            objects = [{"name": str(i.get("name", "")).strip(), "description": str(i.get("description", "")).strip()}
                       for i in items if isinstance(i, dict) and i.get("name")]
            if objects:
                return objects
    text = answer.strip()
    if not text:
        return []
    return [{"name": text.splitlines()[0].strip(" .:-*#")[:100], "description": text}]
