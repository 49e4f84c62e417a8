"""The studio envelope ``{code, data, message}`` (docs/api.md A, seed 002) and request helpers."""

from __future__ import annotations

from typing import BinaryIO

from flask import current_app, jsonify, request

from llmops.errors import ValidateError


def ok(data=None, message: str = "", status: int = 200):
    """A ``success`` envelope with HTTP ``status``."""
    return envelope("success", {} if data is None else data, message, status)


def page(items: list, paginator: dict, message: str = ""):
    """A paginated ``success`` envelope: ``data = {list, paginator}``."""
    return ok({"list": items, "paginator": paginator}, message)


def envelope(code: str, data, message: str, status: int):
    """The envelope with HTTP ``status`` — 200 for an error when ``ENVELOPE_ERRORS_HTTP_200`` is on
    (front ends that read only ``code``)."""
    response = jsonify({"code": code, "data": data, "message": message})
    response.status_code = 200 if code != "success" and current_app.config.get("ENVELOPE_ERRORS_HTTP_200") else status
    return response


def json_body() -> dict:
    """The JSON body, or ``{}`` when there is none (schemas then name the missing fields).

    Parsed whatever the Content-Type says (form uploads aside): the seeds' documented ``curl -d``
    lines (seed 001's among them) send JSON without ``Content-Type: application/json``. A body that
    is JSON but not an object (``[]``, ``"x"``, ``3``) is a 400 in the route's error shape."""
    body = request.get_json(silent=True, force=request.mimetype not in ("multipart/form-data",))
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ValidateError("body: must be a JSON object", data={"body": ["must be a JSON object"]}, status=400)
    field = _nul_field(body)
    if field is not None:  # PostgreSQL cannot store or compare text holding one; no field means one
        raise ValidateError(f"{field}: NUL characters are not allowed", data={field: ["NUL characters are not allowed"]},
                            status=400)
    return body


def uploaded_file(field: str = "file") -> tuple[BinaryIO | None, str, str]:
    """The multipart file ``field`` as a service takes it: ``(stream, filename, mimetype)``;
    ``(None, "", "")`` when none was sent (the service names the missing field)."""
    upload = request.files.get(field)
    if upload is None:
        return None, "", ""
    return upload.stream, upload.filename or "", upload.mimetype or ""


def _nul_field(value, path: str = "body") -> str | None:
    """The dotted path of the first string (key or value) holding a NUL character, else None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = key.replace("\x00", "")
            if "\x00" in key:
                return f"{path}.{name}" if path != "body" else name
            found = _nul_field(item, name if path == "body" else f"{path}.{name}")
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_field(item, f"{path}.{index}")
            if found:
                return found
    return None
