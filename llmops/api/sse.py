"""Server-sent events for the studio (docs/api.md A "Debug-chat SSE").

``json_or_sse(result)`` answers a service's result: JSON for a dict, SSE for a stream (the one
place that branch is written). ``openai_stream(relay)`` sends a gateway relay's chunks as OpenAI's
data-only frames; ``framed_response(events)`` renders a service's events as such frames
(``openai_frame``) as they come (seed 001's voice engine).

``sse_response(events)`` turns an iterator of ``(event, data)`` pairs into a streaming response:
frames ``event: <name>\\ndata: <json>\\n\\n``; a ``ping`` every ``SSE_PING_INTERVAL_S`` while
nothing else is sent; ``Cache-Control: no-cache`` and ``X-Accel-Buffering: no``; an exception
raised after the first byte becomes an ``error`` event and the stream ends cleanly.

The events are produced in a separate thread (a greenlet under gunicorn's gevent worker) so
pings flow while the producer waits on the model. When the client disconnects the server closes
this response; the producer is then told to stop and closes the events iterator, which lets the
service save what it has (status ``stop``).
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator

from flask import Response, current_app, jsonify

from llmops.errors import AppError

_END = object()
# Headers of a stream whose frames the producer rendered (the gateway's OpenAI chunks).
RELAY_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def frame(event: str, data) -> str:
    """One SSE frame (UTF-8 JSON, not ASCII-escaped)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


AGENT_DEFAULTS = {"observation": "", "tool": "", "tool_input": {}, "latency": 0.0, "total_token_count": 0,
                  "total_price": 0.0}


def agent_fields(event: str, data: dict) -> dict:
    """``data`` with the course front end's agent fields filled where the producer left them out:
    ``event``, ``thought`` (an ``agent_message`` chunk mirrors ``answer``; the course front end
    renders ``thought``), ``observation``, ``tool``, ``tool_input``, ``latency`` (seconds),
    ``total_token_count``, ``total_price``; a failure's ``message`` is its ``observation``."""
    filled = {"event": event, "thought": data.get("answer", "") if event == "agent_message" else ""}
    filled.update(AGENT_DEFAULTS)
    if event in ("error", "timeout", "stop"):
        filled["observation"] = str(data.get("message", ""))  # the course front end shows it
    filled.update(data)
    return filled


def studio_frame(event: str, data) -> str:
    """A studio event frame: agent fields filled in (``agent_fields``)."""
    return frame(event, agent_fields(event, data) if isinstance(data, dict) else data)


def sse_response(events: Iterator[tuple[str, dict]], render=studio_frame, ping: str | None = None) -> Response:
    """Stream ``events`` as SSE with pings and clean error handling.

    ``render(event, data) -> str`` makes a frame (default ``studio_frame``: the studio's events,
    agent fields filled in); ``ping`` is the keep-alive
    text (default a ``ping`` event; a compatibility surface may use an SSE comment ``": ping\n\n"``,
    which every SSE client ignores)."""
    app = current_app._get_current_object()
    interval = app.config["SSE_PING_INTERVAL_S"]
    response = Response(
        _body(app, events, interval, render, ping if ping is not None else frame("ping", {})),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"},
    )
    abandon = getattr(events, "abandon", None)
    if abandon is not None:  # e.g. a metered turn: released even if the body was never iterated
        response.call_on_close(abandon)
    return response


def _body(app, events: Iterator[tuple[str, dict]], interval: float, render, ping: str) -> Iterator[str]:
    items: queue.Queue = queue.Queue()
    cancelled = threading.Event()

    def produce() -> None:
        with app.app_context():
            try:
                for item in events:
                    items.put(item)
                    if cancelled.is_set():
                        break
            except AppError as exc:
                items.put(("error", {"code": exc.code, "message": exc.message}))
            except Exception:  # noqa: BLE001 — the stream has started: report as an event
                app.logger.exception("event stream failed")
                items.put(("error", {"code": "fail", "message": "internal server error"}))
            finally:
                close = getattr(events, "close", None)
                if close is not None:
                    close()  # GeneratorExit inside the service: it saves the partial result
                items.put(_END)

    producer = threading.Thread(target=produce, name="sse-producer", daemon=True)
    producer.start()
    try:
        while True:
            try:
                item = items.get(timeout=interval)
            except queue.Empty:
                yield ping
                continue
            if item is _END:
                return
            yield render(*item)
    finally:
        cancelled.set()


def json_or_sse(result, json=jsonify, framed: bool = False) -> Response:
    """A service's blocking result as JSON, its stream as SSE (dify's ``compact_generate_response``).

    A ``dict`` goes through ``json`` (``jsonify``, or ``ok`` for the studio envelope). Anything
    else is a stream: ``(event, data)`` pairs through ``sse_response`` — or, ``framed``, the
    gateway's relayed chunks through ``openai_stream`` (no pings or producer thread: the gateway's
    hot path)."""
    if isinstance(result, dict):
        return json(result)
    if framed:
        return openai_stream(result)
    return sse_response(result)


def openai_frame(event: str, data) -> str:
    """OpenAI's data-only SSE frame of an ``(event, data)`` pair: ``chunk`` → ``data: <the chunk as
    UTF-8 JSON>`` (``bytes``: a relayed chunk's JSON as it came), ``error`` → ``data: {"error":
    <data>}`` (ASCII-escaped JSON), ``done`` → ``data: [DONE]``."""
    if isinstance(data, bytes):
        return f"data: {data.decode()}\n\n"
    if event == "done":
        return "data: [DONE]\n\n"
    if event == "error":
        return f"data: {json.dumps({'error': data})}\n\n"
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def framed_response(events: Iterator[tuple[str, object]], render=openai_frame) -> Response:
    """Stream ``events`` rendered one by one as the producer yields them (no pings, no producer
    thread: the timing is the producer's, as for the gateway's relays); the producer is closed
    when the response is, so it releases what it holds (an upstream stream, a quota reservation)."""
    return Response(_rendered(events, render), mimetype="text/event-stream", headers=RELAY_HEADERS)


def _rendered(events, render) -> Iterator[str]:
    try:
        for event, data in events:
            yield render(event, data)
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()


OPENAI_DONE = b"data: [DONE]\n\n"


def openai_stream(relay) -> Response:
    """A relayed chat completion stream (``gateway_service.StreamRelay``) as OpenAI's SSE: each
    chunk a ``data: <json>`` frame, then ``data: [DONE]``. Chunks that arrived together from the
    upstream leave in one write, ``[DONE]`` with the last of them; no ping and no thread (the
    relay's chunks come as fast as the upstream sends them). ``relay.close()`` — the quota's
    settlement when the stream did not end — runs when the response ends or the client leaves."""
    response = Response(_openai_frames(relay), mimetype="text/event-stream", headers=RELAY_HEADERS)
    response.call_on_close(relay.close)
    return response


def _openai_frames(relay) -> Iterator[bytes]:
    done = False
    for batch in relay.batches():
        data = b"".join([b"data: " + chunk + b"\n\n" for chunk in batch])
        if relay.ended and not done:
            data, done = data + OPENAI_DONE, True
        if data:
            yield data
    if not done:
        yield OPENAI_DONE
