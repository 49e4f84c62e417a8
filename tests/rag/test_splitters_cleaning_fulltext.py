"""Splitter (token budget, sentence ends, overlap), cleaning rules, full-text tokenisation and BM25."""

import math
import random

import pytest

from llmops.providers.embeddings import LocalEmbeddings
from llmops.rag.cleaning import clean
from llmops.rag.fulltext import BM25Index, IndexCache, bm25_weight, tokenize
from llmops.rag.splitters import TextSplitter

count = LocalEmbeddings().count_tokens


def test_chunks_respect_the_token_budget_and_keep_all_text():
    text = " ".join(f"Sentence number {i} talks about topic {i % 7}." for i in range(300))
    chunks = TextSplitter(count, chunk_size=100, chunk_overlap=0).split(text)
    assert len(chunks) > 5 and all(count(c) <= 100 for c in chunks)
    assert "".join(c.replace(" ", "") for c in chunks) == text.replace(" ", "")


def test_chinese_is_cut_at_sentence_ends():
    text = "长城是中国古代的军事防御工程。" * 40
    chunks = TextSplitter(count, chunk_size=100, chunk_overlap=0).split(text)
    assert len(chunks) > 1 and all(c.endswith("。") for c in chunks)


def test_overlap_repeats_the_tail_of_the_previous_chunk():
    text = " ".join(f"Fact {i} is true." for i in range(200))
    chunks = TextSplitter(count, chunk_size=60, chunk_overlap=20).split(text)
    assert any(chunks[i][-10:] in chunks[i + 1] for i in range(len(chunks) - 1))


def test_a_single_long_word_is_cut_by_characters():
    chunks = TextSplitter(count, chunk_size=100, chunk_overlap=0).split("x" * 5000)
    assert all(count(c) <= 100 for c in chunks) and "".join(chunks) == "x" * 5000


def test_bad_overlap_is_refused():
    with pytest.raises(ValueError):
        TextSplitter(count, chunk_size=100, chunk_overlap=60)


def test_cleaning_rules():
    text = "Mail me  at a.b@example.com   or see https://example.com/x \n\n\n\nnext\u3000\u3000line"
    assert clean(text, ["remove_url_and_email", "remove_extra_space"]) == "Mail me at or see\n\nnext line"
    assert "example.com" in clean(text, ["remove_extra_space"])


def test_tokenize_segments_chinese_and_drops_stop_words():
    terms = tokenize("The Great Wall 长城是中国古代的军事防御工程")
    assert "great" in terms and "the" not in terms
    assert "长城" in terms and "军事" in terms and "的" not in terms


def _index(docs: dict[str, list[str]]) -> BM25Index:
    ids = list(docs)
    postings = [(term, i, terms.count(term)) for i, terms in enumerate(docs.values()) for term in set(terms)]
    random.Random(1).shuffle(postings)  # the index must not depend on the postings' order
    return BM25Index(ids, [len(t) for t in docs.values()], postings)


def test_bm25_prefers_rare_terms_and_short_documents():
    index = _index({"a": ["rare", "common"] + ["x"] * 8, "b": ["common"] * 3 + ["y"] * 7,
                    "c": ["common"] + ["z"] * 99})
    ranked = [segment for segment, _ in index.search(["rare", "common"], k=3)]
    assert ranked == ["a", "b", "c"]


def test_bm25_scores_match_the_formula_and_k_cuts():
    rng = random.Random(7)
    vocabulary = [f"w{i}" for i in range(50)]
    docs = {f"s{i}": [rng.choice(vocabulary[: rng.randint(5, 50)]) for _ in range(rng.randint(3, 30))] for i in range(300)}
    index = _index(docs)
    query = ["w1", "w7", "w7", "w33", "missing"]
    avg = sum(len(t) for t in docs.values()) / len(docs)
    expected = {}
    for segment, terms in docs.items():
        score = sum(bm25_weight(terms.count(t), len(terms), avg, sum(t in d for d in docs.values()), len(docs))
                    for t in query if t in terms)
        if score > 0:
            expected[segment] = score
    best = sorted(expected.items(), key=lambda kv: -kv[1])[:10]
    got = index.search(query, k=10)
    assert [s for s, _ in got] == [s for s, _ in best]
    assert all(math.isclose(g, e, rel_tol=1e-4) for (_, g), (_, e) in zip(got, best, strict=True))
    assert index.search(["missing"], k=5) == [] and index.search(query, k=0) == []


def test_index_cache_rebuilds_only_when_the_version_moves():
    cache = IndexCache()
    builds = []

    def build():
        builds.append(1)
        return _index({"a": ["alpha"]})

    first = cache.get("dataset", 1, build)
    assert cache.get("dataset", 1, build) is first and len(builds) == 1
    assert cache.get("dataset", 2, build) is not first and len(builds) == 2
    assert cache.get("dataset", 1, build) is not first and len(builds) == 2  # never goes back to an older one


def test_index_cache_evicts_the_least_recently_used():
    cache = IndexCache(max_postings=2)
    cache.get("a", 1, lambda: _index({"x": ["one", "two"]}))
    cache.get("b", 1, lambda: _index({"y": ["three", "four"]}))
    rebuilt = []
    cache.get("a", 1, lambda: rebuilt.append(1) or _index({"x": ["one"]}))
    assert rebuilt == [1]
