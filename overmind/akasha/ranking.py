"""How recall ranks: the meaning of the text first, and the query's identifiers found in it on top.

Semantic similarity finds paraphrases ("the DB tests hang" -> "integration tests block on the
database lock"); literal matches rescue what embeddings blur: identifiers, file names, error codes
("ECONNRESET", "conftest.py", "MemoryMax"). Only such distinctive words count: on a labelled set
of paraphrases, rewarding every shared word ("test", "agent") ranked the right memory lower more
often than higher (tests/data/akasha-recall.jsonl, benchmarks/akasha.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KEYWORD_WEIGHT = 0.25  # a memory holding every identifier of the query gains this much
RELEVANT = 0.35  # below this combined score a memory is not worth an agent's attention
_WORD = re.compile(r"[\w][\w./:+-]*[\w]|\w")
_STOPWORDS = frozenset("""
a about after again all also an and any are as at be because been before being but by can could did do does
doing done for from had has have how i if in into is it its just me more most my no not of on once only or other
our out over same should so some such than that the their them then there these they this those through to too
under until up very was we were what when where which while who why will with would you your
""".split())


@dataclass(frozen=True)
class Scored:
    score: float  # what ranks: semantic + keyword
    semantic: float  # cosine similarity of query and memory
    keyword: float  # share of the query's words found in the memory, 0..1


def rare_terms(query: str) -> list[str]:
    """Words that look like identifiers (digits, dots, underscores, slashes, two capitals): worth
    fetching memories for even when the embedding does not bring them up."""
    rare = []
    for word in _WORD.findall(query):
        if len(word) < 3 or word.lower() in _STOPWORDS:
            continue
        if re.search(r"[\d_./:+-]", word) or re.search(r"[A-Z].*[A-Z]", word):
            rare.append(word.lower())
    return list(dict.fromkeys(rare))[:6]


def keyword_share(terms: list[str], text: str) -> float:
    if not terms:
        return 0.0
    lowered = text.lower()
    return sum(re.search(rf"\b{re.escape(term)}\b", lowered) is not None for term in terms) / len(terms)


def score(semantic: float, terms: list[str], text: str) -> Scored:
    keyword = keyword_share(terms, text)
    return Scored(round(semantic + KEYWORD_WEIGHT * keyword, 4), round(semantic, 4), round(keyword, 4))


def regex_any(terms: list[str]) -> str:
    """A case-insensitive regular expression matching any of the terms literally (Rust regex syntax,
    which chromadb's $regex uses: only metacharacters are escaped)."""
    escaped = [re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", term) for term in terms]
    return r"(?i)\b(" + "|".join(escaped) + r")\b"
