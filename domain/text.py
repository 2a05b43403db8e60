"""Text normalisation shared by search and answer matching."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"[a-z0-9]+")
_stemmer = snowballstemmer.stemmer("english")

STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most
    my myself no nor not of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves s t d ll m re ve y tell me know pls please whats hows whos
    """.split()
)


def fold(text: str) -> str:
    """Lower-case, strip accents and map every non-alphanumeric run to one space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_WORD.findall(ascii_only))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return str(_stemmer.stemWord(word))


def words(text: str) -> list[str]:
    """Folded words, stopwords kept (search titles need them less than questions do)."""
    return fold(text).split()


def terms(text: str) -> list[str]:
    """Folded, stemmed content words: the unit both search and matching compare."""
    return [stem(w) for w in fold(text).split() if w not in STOPWORDS]
