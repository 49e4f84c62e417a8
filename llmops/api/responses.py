"""The studio envelope ``{code, data, message}`` (API.md A, seed 002) and request helpers."""

from __future__ import annotations

from flask import jsonify, request


def ok(data=None, message: str = "", status: int = 200):
    """A ``success`` envelope with HTTP ``status``."""
    return envelope("success", {} if data is None else data, message, status)


def page(items: list, paginator: dict, message: str = ""):
    """A paginated ``success`` envelope: ``data = {list, paginator}``."""
    return ok({"list": items, "paginator": paginator}, message)


def envelope(code: str, data, message: str, status: int):
    response = jsonify({"code": code, "data": data, "message": message})
    response.status_code = status
    return response


def json_body() -> dict:
    """The JSON body, or ``{}`` when there is none (schemas then name the missing fields).

    Parsed whatever the Content-Type says (form uploads aside): the seeds' documented ``curl -d``
    lines (seed 001's among them) send JSON without ``Content-Type: application/json``."""
    body = request.get_json(silent=True, force=request.mimetype not in ("multipart/form-data",))
    return body if body is not None else {}
