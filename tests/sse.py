"""The one Server-Sent Events reader of the tests (the HTML Living Standard's event-stream format).

Two shapes of stream are served:
- named events (the studio, seed 002 / course API 1.11): ``event: NAME`` + ``data: {json}`` blocks
  → :func:`parse_sse` gives ``[(name, data), ...]``;
- data-only frames (the OpenAI ``/v1`` stream and the compat surfaces of seeds 000, 001, 003)
  → :func:`data_frames` gives ``[data, ...]`` with the final ``"[DONE]"`` kept as a string.

Comments (``: ping``), ``id:``/``retry:`` fields and blank keep-alives are skipped. A data field that
is not JSON raises, so a malformed frame fails the test that reads it.
"""

from __future__ import annotations

import json


def _blocks(text: str):
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, list[str]] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)
        if "data" in fields:
            yield fields.get("event", ["message"])[-1], "\n".join(fields["data"])


def _text(body) -> str:
    if isinstance(body, str):
        return body
    if hasattr(body, "get_data"):  # a Flask test response
        return body.get_data(as_text=True)
    return body.text  # an httpx response


def parse_sse(body) -> list[tuple[str, dict]]:
    """Named events of a studio stream → ``[(event, data), ...]`` (frames without ``event:`` skipped)."""
    return [(name, json.loads(data)) for name, data in _blocks(_text(body)) if name != "message"]


def data_frames(body) -> list:
    """Every ``data:`` frame of a data-only stream → parsed JSON, the terminating ``"[DONE]"`` as is."""
    return [data if data == "[DONE]" else json.loads(data) for _, data in _blocks(_text(body))]
