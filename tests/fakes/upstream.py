"""A small OpenAI-compatible upstream for edge-case tests: fixed answers, chosen delays, failures.

Not product code. ``FakeUpstream().start()`` serves ``/v1/chat/completions`` (stream and not) and
``/v1/models`` on 127.0.0.1; set ``behaviour`` to change what the next requests get.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Behaviour:
    answer_chunks: list[str] = field(default_factory=lambda: ["Hello", ", ", "world", "!"])
    chunk_delay_s: float = 0.0
    first_chunk_delay_s: float = 0.0
    fail_status: int | None = None
    fail_times: int = 0  # fail this many requests, then answer normally
    fail_message: str | None = None  # the failure's error message (default: "fake failure <status>")
    send_usage: bool = True
    send_finish_reason: bool = True
    # answers of the next requests, one list of chunks each (then ``answer_chunks`` again)
    next_answers: list[list[str]] = field(default_factory=list)
    prompt_tokens: int = 11  # the prompt_tokens of the usage it reports
    # Faults after this many answer chunks of a stream (None: no fault): ``fault`` is "error"
    # (an OpenAI error chunk, what a provider failing with a 500 mid-stream sends), "stall"
    # (``stall_s`` of silence, then the rest), "reset" (the TCP connection reset), "malformed"
    # (a ``data:`` line that is not JSON) or "truncate" (the connection closed, no finish_reason).
    fault: str | None = None
    fault_after: int = 1
    stall_s: float = 5.0
    raw_body: bytes | None = None  # a non-streamed answer's body as sent (200), e.g. not an object
    honour_n: bool = True  # answer ``n`` choices when asked (False: ignore n, as llama.cpp does)
    # tool calls of the next requests (before ``next_answers``), one list each of
    # ``{"name": ..., "arguments": dict | str}``: that request is answered with those tool calls
    next_tool_calls: list[list[dict]] = field(default_factory=list)


class _DeepBacklogServer(ThreadingHTTPServer):
    request_queue_size = 256


class FakeUpstream:
    def __init__(self, host: str = "127.0.0.1"):
        self.behaviour = Behaviour()
        self.requests: list[dict] = []
        self.authorizations: list[str | None] = []  # the Authorization header of each POST
        # A real upstream (llama.cpp, vLLM, a provider's load balancer) listens with a deep
        # backlog; socketserver's default of 5 overflows when 50 streams connect at once on a
        # loaded machine, and the dropped connections looked like upstream failures (502).
        self._server = _DeepBacklogServer((host, 0), self._handler())
        self._server.daemon_threads = True

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeUpstream:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def reset(self) -> None:
        self.behaviour = Behaviour()
        self.requests.clear()
        self.authorizations.clear()

    def _handler(self):
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path.rstrip("/") == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                upstream.requests.append(request)
                upstream.authorizations.append(self.headers.get("Authorization"))
                b = upstream.behaviour
                if b.fail_status and b.fail_times > 0:
                    b.fail_times -= 1
                    message = b.fail_message or f"fake failure {b.fail_status}"
                    self._json(b.fail_status, {"error": {"message": message, "type": "server_error"}})
                    return
                if b.next_tool_calls:
                    self._tool_calls(request, b.next_tool_calls.pop(0), b)
                    return
                chunks = b.next_answers.pop(0) if b.next_answers else b.answer_chunks
                text = "".join(chunks)
                usage = {"prompt_tokens": b.prompt_tokens, "completion_tokens": len(chunks),
                         "total_tokens": b.prompt_tokens + len(chunks)}
                if not request.get("stream") and b.raw_body is not None:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(b.raw_body)))
                    self.end_headers()
                    self.wfile.write(b.raw_body)
                    return
                if not request.get("stream"):
                    time.sleep(b.first_chunk_delay_s)
                    n = int(request.get("n") or 1) if b.honour_n else 1
                    if n > 1:
                        usage = {**usage, "completion_tokens": n * len(chunks),
                                 "total_tokens": b.prompt_tokens + n * len(chunks)}
                    self._json(200, {
                        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                        "model": request.get("model"),
                        "choices": [{"index": i, "message": {"role": "assistant", "content": text},
                                     "finish_reason": "stop"} for i in range(n)],
                        "usage": usage if b.send_usage else None,
                    })
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    time.sleep(b.first_chunk_delay_s)
                    for i, piece in enumerate(chunks):
                        if i:
                            time.sleep(b.chunk_delay_s)
                        if b.fault and i == b.fault_after and self._fault(b):
                            return
                        self._chunk({"content": piece}, None)
                    if b.send_finish_reason:
                        self._chunk({}, "stop")
                    if b.send_usage and (request.get("stream_options") or {}).get("include_usage"):
                        self._send({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                                    "model": request.get("model"), "choices": [], "usage": usage})
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

            def _fault(self, b: Behaviour) -> bool:
                """Inject ``b.fault`` → True when the stream must end here."""
                if b.fault == "stall":
                    time.sleep(b.stall_s)
                    return False
                if b.fault == "error":
                    self._send({"error": {"message": "fake failure 500 mid-stream", "type": "server_error",
                                          "param": None, "code": None}})
                elif b.fault == "malformed":
                    self.wfile.write(b"data: {this is not json\n\n")
                    self.wfile.flush()
                elif b.fault == "reset":  # RST instead of FIN: SO_LINGER with a zero timeout
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                self.close_connection = True
                return True

            def _tool_calls(self, request: dict, calls: list[dict], b: Behaviour) -> None:
                """Answer with ``calls`` as OpenAI tool calls (streamed in two pieces each)."""
                made = [{"id": f"call_{i}_{int(time.time() * 1000) % 100000}", "type": "function",
                         "function": {"name": c["name"], "arguments": c["arguments"] if isinstance(c["arguments"], str)
                                      else json.dumps(c["arguments"])}} for i, c in enumerate(calls)]
                usage = {"prompt_tokens": b.prompt_tokens, "completion_tokens": 5 * len(calls),
                         "total_tokens": b.prompt_tokens + 5 * len(calls)}
                time.sleep(b.first_chunk_delay_s)
                if not request.get("stream"):
                    self._json(200, {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                                     "model": request.get("model"), "usage": usage, "choices": [{
                                         "index": 0, "finish_reason": "tool_calls",
                                         "message": {"role": "assistant", "content": None, "tool_calls": made}}]})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for i, call in enumerate(made):
                        arguments = call["function"]["arguments"]
                        half = len(arguments) // 2
                        self._chunk({"tool_calls": [{"index": i, "id": call["id"], "type": "function",
                                                     "function": {"name": call["function"]["name"],
                                                                  "arguments": arguments[:half]}}]}, None)
                        self._chunk({"tool_calls": [{"index": i, "function": {"arguments": arguments[half:]}}]}, None)
                    self._chunk({}, "tool_calls")
                    if (request.get("stream_options") or {}).get("include_usage"):
                        self._send({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                                    "model": request.get("model"), "choices": [], "usage": usage})
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

            def _chunk(self, delta: dict, finish: str | None) -> None:
                self._send({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

            def _send(self, obj: dict) -> None:
                self.wfile.write(f"data: {json.dumps(obj)}\n\n".encode())
                self.wfile.flush()

        return Handler
