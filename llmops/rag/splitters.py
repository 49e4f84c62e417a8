"""Token-aware recursive splitting that respects Chinese and English sentence ends.

``chunk_size`` and ``chunk_overlap`` are measured in tokens of the embedding model's tokenizer
(passed in as ``count_tokens``), so a chunk always fits the model's input window. The text is cut
at the first separator of the list that occurs (paragraphs, lines, then sentence ends — 。！？ and
". ! ?" — then clauses, then words); a piece still larger than ``chunk_size`` is cut with the next
separators, and as a last resort by characters. Separators stay attached to the piece before them,
so no text is lost: the chunks joined without overlap give back the input.
"""

from __future__ import annotations

from collections.abc import Callable

DEFAULT_SEPARATORS = [
    "\n\n", "\n", "。", "！", "？", "!", "?", ". ", "；", ";", "，", ", ", " ", "",
]


class TextSplitter:
    def __init__(self, count_tokens: Callable[[str], int], chunk_size: int = 500, chunk_overlap: int = 50,
                 separators: list[str] | None = None):
        if chunk_size <= 0 or not 0 <= chunk_overlap <= chunk_size // 2:
            raise ValueError("chunk_size must be > 0 and 0 <= chunk_overlap <= chunk_size / 2")
        self.count_tokens = count_tokens
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        separators = [s for s in (separators or DEFAULT_SEPARATORS) if s != ""]
        self.separators = [*separators, ""]

    def split(self, text: str) -> list[str]:
        """Chunks of at most ``chunk_size`` tokens, consecutive chunks sharing up to
        ``chunk_overlap`` tokens; empty chunks are dropped."""
        pieces = self._pieces(text, 0)
        return [c for c in (chunk.strip() for chunk in self._merge(pieces)) if c]

    def _pieces(self, text: str, level: int) -> list[tuple[str, int]]:
        """(piece, tokens) pairs, each piece ≤ chunk_size tokens."""
        tokens = self.count_tokens(text)
        if tokens <= self.chunk_size:
            return [(text, tokens)] if text else []
        for index in range(level, len(self.separators)):
            separator = self.separators[index]
            if separator == "":
                return self._by_characters(text)
            if separator in text:
                parts = text.split(separator)
                pieces: list[tuple[str, int]] = []
                for i, part in enumerate(parts):
                    piece = part + separator if i < len(parts) - 1 else part
                    if piece:
                        pieces.extend(self._pieces(piece, index + 1))
                return pieces
        return self._by_characters(text)

    def _by_characters(self, text: str) -> list[tuple[str, int]]:
        pieces = []
        start = 0
        while start < len(text):
            low, high = start + 1, len(text)
            while low < high:  # the longest prefix within chunk_size tokens (binary search)
                middle = (low + high + 1) // 2
                if self.count_tokens(text[start:middle]) <= self.chunk_size:
                    low = middle
                else:
                    high = middle - 1
            pieces.append((text[start:low], self.count_tokens(text[start:low])))
            start = low
        return pieces

    def _merge(self, pieces: list[tuple[str, int]]) -> list[str]:
        chunks: list[str] = []
        window: list[tuple[str, int]] = []
        total = 0
        for piece, tokens in pieces:
            if window and total + tokens > self.chunk_size:
                chunks.append("".join(p for p, _ in window))
                # keep a tail of whole pieces as overlap, within chunk_overlap tokens
                while window and (total > self.chunk_overlap or total + tokens > self.chunk_size):
                    total -= window.pop(0)[1]
            window.append((piece, tokens))
            total += tokens
        if window:
            chunks.append("".join(p for p, _ in window))
        return chunks
