"""Object recognition with the active vision model (seed 003 ``/api/v1/vision/completions``).

The image goes to the model as an OpenAI vision message (a ``data:`` URL) through the gateway,
so the calling key's quota, limits and usage apply. Image URLs that clients put in chat messages
(``/v1``, seed 001/003) are fetched here, from public addresses only, and sent upstream inline
(``inline_remote_images``): a self-hosted upstream never fetches a client's URL from inside our network. The model is asked for JSON
``{"objects": [{"name", "description"}]}``; its answer is parsed tolerantly (a JSON object inside
prose or a code fence is found; a plain-text answer becomes one object) because small vision
models do not always follow the format.
"""

from __future__ import annotations

import base64
import json
import re

from flask import current_app

from llmops.errors import AppError, ValidateError
from llmops.providers.safe_fetch import FetchFailed, UnsafeUrlError, fetch_public
from llmops.services.core import model_service
from llmops.services.gateway import gateway_service
from llmops.services.gateway.api_key_service import KeyPrincipal

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
    result = gateway_service.chat_completions(principal, surface="vision", body={
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


def inline_remote_images(body: dict) -> dict:
    """``body`` with every ``http(s)`` ``image_url`` of its messages replaced by a ``data:`` URL of the
    fetched image (public addresses only, ``IMAGE_FETCH_*`` limits). ``ValidateError`` naming the
    part (``messages.<i>.content.<j>.image_url.url``) when a URL is refused or cannot be fetched."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not any(_remote_image_parts(m) for m in messages):
        return body
    config = current_app.config
    count = 0
    new_messages = []
    for i, message in enumerate(messages):
        parts = _remote_image_parts(message)
        if not parts:
            new_messages.append(message)
            continue
        content = list(message["content"])
        for j in parts:
            field = f"messages.{i}.content.{j}.image_url.url"
            count += 1
            if count > config["IMAGE_FETCH_MAX_IMAGES"]:
                raise ValidateError(f"{field}: at most {config['IMAGE_FETCH_MAX_IMAGES']} image URLs per request",
                                    data={field: ["too many image URLs"]})
            image_url = content[j]["image_url"]
            try:
                data, _ = fetch_public(image_url["url"], max_bytes=config["IMAGE_FETCH_MAX_BYTES"],
                                       timeout_s=config["IMAGE_FETCH_TIMEOUT_S"],
                                       allow_private=config["IMAGE_FETCH_ALLOW_PRIVATE"])
                mime = image_mime_type(data)
            except (UnsafeUrlError, FetchFailed) as exc:
                raise ValidateError(f"{field}: {exc}", data={field: [str(exc)]}) from exc
            except UnsupportedImageError as exc:
                raise ValidateError(f"{field}: not a PNG, JPEG, GIF or WebP image",
                                    data={field: ["not a PNG, JPEG, GIF or WebP image"]}) from exc
            content[j] = {**content[j], "image_url": {**image_url,
                                                       "url": f"data:{mime};base64,{base64.b64encode(data).decode()}"}}
        new_messages.append({**message, "content": content})
    return {**body, "messages": new_messages}


def _remote_image_parts(message) -> list[int]:
    """Indexes of the content parts of ``message`` that hold an http(s) image URL."""
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return []
    found = []
    for j, part in enumerate(content):
        image_url = part.get("image_url") if isinstance(part, dict) else None
        url = image_url.get("url") if isinstance(image_url, dict) else image_url if isinstance(image_url, str) else None
        if isinstance(url, str) and not url.startswith("data:"):
            if isinstance(image_url, str):
                part["image_url"] = {"url": url}
            found.append(j)
    return found
