"""Token estimates for when the upstream reports no usage (e.g. llama.cpp while streaming).

Figures from here are always labelled ``usage_estimated``. The estimate counts each CJK character
as one token and other text as one token per ~4 characters (the usual BPE average for English);
it never downloads a tokenizer (docs/offline.md: no tiktoken).
"""

from __future__ import annotations

import math
import re

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")

# Per-message framing tokens of chat templates (role markers, separators).
MESSAGE_OVERHEAD_TOKENS = 4


def estimate_tokens(text: str) -> int:
    """Estimated token count of ``text`` (0 for empty text)."""
    if not text:
        return 0
    cjk = len(_CJK.findall(text))
    rest = len(text) - cjk
    return cjk + math.ceil(rest / 4)


def estimate_messages_tokens(messages: list[dict]) -> int:
    """Estimated prompt tokens of OpenAI-style chat ``messages`` including framing overhead."""
    total = 0
    for message in messages:
        content = message.get("content") or ""
        if isinstance(content, list):  # multi-part content: count the text parts
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        total += estimate_tokens(content) + MESSAGE_OVERHEAD_TOKENS
    return total + 2
