"""Splitter (token budget, sentence ends, overlap), cleaning rules, full-text tokenisation and BM25."""

import pytest

from llmops.providers.embeddings import LocalEmbeddings
from llmops.rag.cleaning import clean
from llmops.rag.fulltext import bm25_scores, tokenize
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


def test_bm25_prefers_rare_terms_and_short_documents():
    postings = [("rare", "a", 1, 10), ("common", "a", 1, 10), ("common", "b", 3, 10), ("common", "c", 1, 100)]
    scores = bm25_scores(["rare", "common"], postings, total_docs=3, avg_length=40, doc_freq={"rare": 1, "common": 3})
    assert scores["a"] > scores["b"] > scores["c"]
