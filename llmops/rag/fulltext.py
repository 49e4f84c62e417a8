"""Full-text retrieval: a BM25 inverted index with Chinese word segmentation.

Engine and why. The postings live in the relational database (``segment_term``: term, segment,
term frequency), written in the same transaction as the segment rows, so SQLite and PostgreSQL
share one code path, every process sees the same index and a crash never leaves the two apart.
Ranking, however, does not run in SQL: reading every posting of a common term is linear in the
corpus (measured: ~40 ms per 1k segments, 4 s at 100k). Each process instead keeps a read-only
**snapshot** of a dataset's postings in numpy arrays (``BM25Index``): per term, the segments that
contain it and their precomputed BM25 weights, so a query is a handful of vectorised adds and
one ``argpartition`` — about a millisecond at 100k segments. A snapshot is tagged with the
dataset's ``index_version``, which every change of the searchable set bumps in the database;
a query compares the tag with one indexed lookup and rebuilds a stale snapshot (``IndexCache``).
SQLite FTS5 was not chosen because PostgreSQL has no BM25 (``ts_rank`` is not BM25), and a
library such as bm25s would still need the same snapshot-and-invalidate machinery.

Chinese has no spaces: text is segmented with jieba (search mode, its dictionary ships in the
package); English is lower-cased; punctuation and stop words are dropped. BM25 uses k1 = 1.5,
b = 0.75 and the Lucene idf ``log(1 + (N - df + 0.5) / (df + 0.5))``.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterable

import numpy as np
from cachetools import LRUCache

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


@functools.cache
def _jieba():
    """jieba, quietened once per process (``setLogLevel`` clears every logger's cache: called per
    word it took a fifth of indexing's postings time)."""
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


def bm25_weight(tf, length, avg_length: float, df: int, total_docs: int):
    """BM25 contribution of one term to one segment (scalars or numpy arrays for ``tf``/``length``)."""
    idf = math.log(1 + (total_docs - df + 0.5) / (df + 0.5))
    return idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / (avg_length or 1.0)))


class BM25Index:
    """An immutable BM25 snapshot of one corpus.

    Build it from ``segment_ids`` (any hashable key, in a fixed order), their lengths in terms,
    and ``postings`` — (term, segment index into ``segment_ids``, tf) triples in any order.
    ``search`` returns at most ``k`` (segment key, BM25 score) pairs, best first; memory is about
    8 bytes per posting.
    """

    def __init__(self, segment_ids: list[Hashable], lengths: Iterable[int],
                 postings: Iterable[tuple[str, int, int]]):
        self.segment_ids = segment_ids
        lengths_array = np.asarray(list(lengths), dtype=np.float32)
        self.size = len(segment_ids)
        avg_length = float(lengths_array.mean()) if self.size else 1.0
        term_ids: dict[str, int] = {}
        terms, docs, tfs = [], [], []
        for term, doc, tf in postings:
            terms.append(term_ids.setdefault(term, len(term_ids)))
            docs.append(doc)
            tfs.append(tf)
        term_array = np.asarray(terms, dtype=np.int32)
        doc_array = np.asarray(docs, dtype=np.int32)
        tf_array = np.asarray(tfs, dtype=np.float32)
        order = np.argsort(term_array, kind="stable")
        term_array, doc_array, tf_array = term_array[order], doc_array[order], tf_array[order]
        bounds = np.searchsorted(term_array, np.arange(len(term_ids) + 1))
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, term_id in term_ids.items():
            start, end = int(bounds[term_id]), int(bounds[term_id + 1])
            term_docs = doc_array[start:end]
            weights = bm25_weight(tf_array[start:end], lengths_array[term_docs], avg_length, end - start, self.size)
            self._postings[term] = (term_docs, weights.astype(np.float32))
        self.posting_count = len(doc_array)

    def search(self, query_terms: list[str], k: int) -> list[tuple[Hashable, float]]:
        """Top ``k`` segments for ``query_terms`` (repeated terms weigh more), BM25 scores > 0."""
        hits = [(self._postings[t], n) for t, n in Counter(query_terms).items() if t in self._postings]
        if not hits or k <= 0:
            return []
        scores = np.zeros(self.size, dtype=np.float32)
        for (docs, weights), repeats in hits:
            scores[docs] += weights * repeats  # a segment appears once per term: no duplicate indices
        candidates = np.flatnonzero(scores)
        if len(candidates) > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        candidates = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(self.segment_ids[i], float(scores[i])) for i in candidates]


class IndexCache:
    """Per-process snapshots keyed by corpus (a dataset id), each tagged with a version.

    ``get(key, version, build)`` returns a snapshot at least as new as ``version``, calling ``build()`` (which
    returns a ``BM25Index``) when the cached one is missing or older; one build at a time per key.
    At most ``max_postings`` postings are kept; the least recently used snapshots go first.
    """

    def __init__(self, max_postings: int = 20_000_000):
        self.max_postings = max_postings
        # Weighted by postings; a snapshot larger than the whole budget counts as the budget, so
        # it is still kept (alone) rather than rebuilt on every query.
        self._entries: LRUCache[Hashable, tuple[int, BM25Index]] = LRUCache(
            maxsize=max_postings, getsizeof=lambda entry: min(entry[1].posting_count, max_postings))
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()
        self.builds = 0

    def get(self, key: Hashable, version: int, build: Callable[[], BM25Index]) -> BM25Index:
        entry = self._lookup(key, version)
        if entry is not None:
            return entry
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            entry = self._lookup(key, version)  # another caller may have built it meanwhile
            if entry is not None:
                return entry
            index = build()
            self.builds += 1
            with self._guard:
                self._entries[key] = (version, index)  # evicts the least recently used beyond the budget
            return index

    def _lookup(self, key: Hashable, version: int) -> BM25Index | None:
        with self._guard:
            entry = self._entries.get(key)  # a hit counts as a use
            if entry is None or entry[0] < version:
                return None
            return entry[1]
