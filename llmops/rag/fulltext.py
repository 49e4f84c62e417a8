"""Full-text retrieval: an inverted index with BM25 ranking, kept in the relational database.

Why this engine: the index must be shared by every api and worker process and behave the same on
SQLite (embedded) and PostgreSQL (production). SQLite FTS5 has BM25 but PostgreSQL has none
(``ts_rank`` is not BM25), and in-memory libraries such as bm25s would need a copy per process
kept in sync with writes. A ``segment_term`` table (term, segment, tf) with an index on
(dataset_id, term) gives one code path, transactional updates with the segment rows, and exact
BM25 (k1 = 1.5, b = 0.75) computed over the postings of the query's terms only.

Chinese has no spaces: text is segmented with jieba (search mode, its dictionary ships in the
package); English is lower-cased; punctuation and stop words are dropped.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter

K1 = 1.5
B = 0.75
MAX_TERM_LENGTH = 64

_WORD = re.compile(r"[\w\u4e00-\u9fff]+", re.UNICODE)
_HAS_CJK = re.compile(r"[\u3400-\u9fff]")
STOP_WORDS = frozenset([
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "how", "i", "in", "is",
    "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "what", "when", "where", "which", "who",
    "why", "will", "with", "you", "your", "的", "了", "和", "是", "在", "我", "有", "也", "就", "都", "而", "及", "与",
    "或", "一个", "什么", "怎么", "吗", "呢", "吧", "啊",
])


def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def tokenize(text: str) -> list[str]:
    """Index/query terms of ``text`` (lower-case words; jieba search-mode words for Chinese)."""
    terms: list[str] = []
    for word in _WORD.findall(text.lower()):
        if _HAS_CJK.search(word):
            terms.extend(t for t in _jieba().cut_for_search(word) if t.strip())
        else:
            terms.append(word)
    return [t[:MAX_TERM_LENGTH] for t in terms if t not in STOP_WORDS and not t.isspace()]


def term_frequencies(text: str) -> tuple[Counter, int]:
    """(term → count, document length in terms) for indexing."""
    terms = tokenize(text)
    return Counter(terms), len(terms)


def bm25_scores(query_terms: list[str], postings: list[tuple[str, object, int, int]], total_docs: int,
                avg_length: float, doc_freq: dict[str, int]) -> dict[object, float]:
    """BM25 per segment. ``postings`` are (term, segment_id, tf, segment length) for the query terms."""
    weights = Counter(query_terms)
    scores: dict[object, float] = {}
    avg_length = avg_length or 1.0
    for term, segment_id, tf, length in postings:
        df = doc_freq.get(term, 0)
        idf = math.log(1 + (total_docs - df + 0.5) / (df + 0.5))
        norm = tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / avg_length))
        scores[segment_id] = scores.get(segment_id, 0.0) + weights[term] * idf * norm
    return scores
