"""The B1/B2 upstream (README "Performance"): a small OpenAI-compatible server that answers a fixed text,
streamed as ``--chunks`` chunks ``--chunk-delay-ms`` apart, with a usage chunk when asked.
Bench fixture code, not product code (aiohttp, so the fixture is never the bottleneck).

    python -m bench.fixture_upstream --port 9100 [--chunks 10] [--chunk-delay-ms 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from aiohttp import web

WORDS = ["Hello", " from", " the", " bench", " upstream", ",", " one", " chunk", " at", " a", " time", "."]


def make_app(chunks: int, delay_s: float) -> web.Application:
    pieces = [WORDS[i % len(WORDS)] for i in range(chunks)]
    usage = {"prompt_tokens": 12, "completion_tokens": chunks, "total_tokens": 12 + chunks}

    async def models(_request):
        return web.json_response({"object": "list", "data": [{"id": "bench-model", "object": "model", "created": 0,
                                                              "owned_by": "bench"}]})

    async def chat(request):
        body = await request.json()
        created = int(time.time())
        if not body.get("stream"):
            await asyncio.sleep(delay_s * chunks)
            return web.json_response({
                "id": "chatcmpl-bench", "object": "chat.completion", "created": created, "model": body.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(pieces)},
                             "finish_reason": "stop"}],
                "usage": usage})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": created, "model": body.get("model")}
        for i, piece in enumerate(pieces):
            if i:
                await asyncio.sleep(delay_s)
            chunk = {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        finish = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        await response.write(f"data: {json.dumps(finish)}\n\n".encode())
        if (body.get("stream_options") or {}).get("include_usage"):
            await response.write(f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument("--chunk-delay-ms", type=float, default=5.0)
    args = parser.parse_args()
    web.run_app(make_app(args.chunks, args.chunk_delay_ms / 1000), host="127.0.0.1", port=args.port, print=None,
                access_log=None)


if __name__ == "__main__":
    main()
