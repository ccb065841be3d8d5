"""The retrieval baseline on hand-checked examples."""

import pytest

from seq2seq_lib.evaluation.baselines import RetrievalBaseline, word_tokens

DOCS = [
    "Return the sum of two numbers.",
    "Read a JSON file and return its content.",
    "Open the database connection.",
    "Sort the list of users by name.",
]
CODES = [
    "def add(a, b):\n    return a + b\n",
    "def read_json(path):\n    with open(path) as f:\n        return json.load(f)\n",
    "def connect(url):\n    return db.connect(url)\n",
    "def sort_users(users):\n    return sorted(users, key=lambda u: u.name)\n",
]


def test_word_tokens_lowercase_and_split_identifiers():
    words = ["read", "a", "json", "file", "name", "ext", "v2"]
    assert word_tokens("Read a JSON file_name.ext, v2!") == words


def test_retrieval_returns_exact_code_for_exact_docstring():
    baseline = RetrievalBaseline.fit(DOCS, CODES)
    assert baseline.predict(DOCS) == CODES


def test_retrieval_picks_most_similar_docstring():
    baseline = RetrievalBaseline.fit(DOCS, CODES)
    assert baseline.predict(["load json from a file", "sort users"]) == [CODES[1], CODES[3]]


def test_retrieval_without_shared_words_falls_back_to_first_example():
    baseline = RetrievalBaseline.fit(DOCS, CODES)
    assert baseline.predict(["zzz qqq"]) == [CODES[0]]
    assert baseline.predict([]) == []


def test_retrieval_chunking_and_custom_tokenizer():
    queries = DOCS + ["json file", "database"]
    assert RetrievalBaseline.fit(DOCS, CODES, chunk_size=1).predict(queries) == (
        RetrievalBaseline.fit(DOCS, CODES, chunk_size=100).predict(queries)
    )
    by_first_word = RetrievalBaseline.fit(DOCS, CODES, tokenizer=lambda s: s.lower().split()[:1])
    assert by_first_word.predict(["open sesame"]) == [CODES[2]]


def test_retrieval_needs_one_code_per_docstring():
    with pytest.raises(ValueError):
        RetrievalBaseline.fit(DOCS, CODES[:2])
