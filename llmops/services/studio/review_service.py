"""Keyword moderation of an app's chats (the app's ``review_config``).

``review_config = {enable, keywords, inputs_config{enable, preset_response}, outputs_config{enable}}``:
a query containing a keyword is answered with ``preset_response`` without calling the model; a
keyword in the answer is shown (and saved) as ``**``. Matching ignores case. ``OutputMasker``
masks a stream chunk by chunk and holds back a chunk's tail while it could be the start of a
keyword, so a keyword split across chunks is masked too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MASK = "**"
MAX_KEYWORDS = 100


@dataclass(frozen=True)
class ReviewPolicy:
    """The moderation an app applies; ``None`` in place of a policy means none."""

    keywords: tuple[str, ...]
    check_inputs: bool
    preset_response: str
    mask_outputs: bool

    @property
    def pattern(self) -> re.Pattern:
        # longest first: at a position the longest keyword wins ("慕课网" before "慕课")
        ordered = sorted(self.keywords, key=len, reverse=True)
        return re.compile("|".join(re.escape(k) for k in ordered), re.IGNORECASE)


def policy_from(review_config: dict | None) -> ReviewPolicy | None:
    """The policy of a ``review_config`` dict; ``None`` when disabled or without keywords."""
    config = review_config or {}
    if not config.get("enable"):
        return None
    keywords = tuple(dict.fromkeys(k.strip() for k in config.get("keywords") or [] if isinstance(k, str) and k.strip()))
    inputs = config.get("inputs_config") or {}
    outputs = config.get("outputs_config") or {}
    policy = ReviewPolicy(keywords[:MAX_KEYWORDS], bool(inputs.get("enable")), str(inputs.get("preset_response") or ""),
                          bool(outputs.get("enable")))
    if not policy.keywords or not (policy.check_inputs or policy.mask_outputs):
        return None
    return policy


def blocked_input(policy: ReviewPolicy | None, query: str) -> bool:
    """True when input review is on and ``query`` contains a keyword."""
    return bool(policy and policy.check_inputs and policy.pattern.search(query))


def mask(policy: ReviewPolicy | None, text: str) -> str:
    """``text`` with every keyword replaced by ``**`` (when output review is on)."""
    if not (policy and policy.mask_outputs):
        return text
    return policy.pattern.sub(MASK, text)


class OutputMasker:
    """Masks a streamed answer: ``feed(chunk)`` returns the text safe to show now, ``flush()`` the
    rest at the end. Their concatenation equals ``mask(policy, whole answer)``."""

    def __init__(self, policy: ReviewPolicy | None):
        self.policy = policy if policy and policy.mask_outputs else None
        self._pattern = self.policy.pattern if self.policy else None
        self._lowered = [k.lower() for k in self.policy.keywords] if self.policy else []
        self._longest = max((len(k) for k in self._lowered), default=0)
        self._pending = ""

    def feed(self, chunk: str) -> str:
        if self._pattern is None:
            return chunk
        text = self._pending + chunk
        cut = len(text) - self._held_suffix(text)
        out, last = [], 0
        for match in self._pattern.finditer(text):
            if match.start() >= cut:
                break
            out.append(text[last:match.start()])
            out.append(MASK)
            last = match.end()
            cut = max(cut, last)  # a whole keyword reaching into the held tail goes out now
        out.append(text[last:cut])
        self._pending = text[cut:]
        return "".join(out)

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return self._pattern.sub(MASK, rest) if self._pattern is not None else rest

    def _held_suffix(self, text: str) -> int:
        """Length of the longest tail of ``text`` that is a proper prefix of a keyword."""
        for size in range(min(self._longest - 1, len(text)), 0, -1):
            piece = text[-size:].lower()
            if any(len(k) > len(piece) and k.startswith(piece) for k in self._lowered):
                return size
        return 0
