"""What kind of fact a question asks for, and whether an answer contains one.

"How much did the strike cost?" wants an amount of money, "how many died" a number, "when" a time, "how
long" a duration. A stored answer on the right subject that holds no such fact cannot be the answer ("when
will there be a vaccine" against an answer that names no time at all), so the matcher refuses rather
than show it, whatever the word and meaning scores say. The check is one-sided: an answer that does hold
a number may still be about another number. Questions of other kinds (why, what, who, is it ...) are not
checked: their answers take any form.
"""

from __future__ import annotations

import re

from domain.text import fold

MONEY = "money"
NUMBER = "number"
TIME = "time"
DURATION = "duration"

_ASKS_MONEY = re.compile(
    r"\bhow much\b.*\b(cost|costs|costing|pay|paid|paying|price|money|spend|spent|worth|earn|earns|earned|"
    r"fine|fined|charge|charged|bill|fee|fees|salary|wage|wages|owe|owes|raise|raised|sold|sell|buy|bought)\b"
    r"|\bhow much (money|cash)\b|\bwhat (is|was|s) the (price|cost|fine|fee|salary)\b"
)
_ASKS_NUMBER = re.compile(
    r"\bhow (many|much|old|far|big|tall|fast|high|deep|large|heavy|strong|often)\b|\bwhat (percent|percentage)\b"
)
_ASKS_TIME = re.compile(r"\b(when|whens|what time|what date|what day|how soon)\b")
_ASKS_DURATION = re.compile(r"\bhow long\b")

_NUMBER_WORDS = (
    "two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred "
    "hundreds thousand thousands million millions billion billions trillion dozen dozens half quarter "
    "percent fourth fifth sixth seventh eighth ninth tenth twice double triple several few"
)
_NUMBER = re.compile(r"\d|\b(" + "|".join(_NUMBER_WORDS.split()) + r")\b")
_MONEY = re.compile(
    r"[$€£¥₹]|\b(dollars?|euros?|pounds?|yen|yuan|francs?|kron[aeo]r?|krone|rupees?|reais|real|pesos?|"
    r"cents?|pence|usd|eur|gbp|bn)\b"
)
_BIG_AMOUNT = re.compile(r"\b(million|millions|billion|billions|trillion)\b")
_TIME = re.compile(
    r"\b(1[89]\d\d|20\d\d|january|february|march|april|may|june|july|august|september|october|november|"
    r"december|monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tomorrow|yesterday|tonight|"
    r"morning|afternoon|evening|night|week|weeks|weekend|month|months|year|years|day|days|hour|hours|"
    r"minute|minutes|soon|next|until|since|ago|later|early|late|spring|summer|autumn|fall|winter|season|"
    r"date|deadline|immediately|now|already|by|before|after|within)\b"
)
_DURATION = re.compile(
    r"\b(hour|hours|day|days|week|weeks|month|months|year|years|minute|minutes|decade|decades|until|since|"
    r"overnight|permanent|permanently|temporary|indefinitely)\b|\d"
)


def wanted(question: str) -> str | None:
    """The kind of fact the question asks for, if it asks for a measurable one."""
    text = fold(question)
    if _ASKS_MONEY.search(text):
        return MONEY
    if _ASKS_DURATION.search(text):
        return DURATION
    if _ASKS_NUMBER.search(text):
        return NUMBER
    if _ASKS_TIME.search(text):
        return TIME
    return None


def present(kind: str | None, answer: str) -> bool:
    """Whether `answer` holds a fact of that kind (always true when nothing particular is asked)."""
    if kind is None:
        return True
    text = answer.casefold()
    if kind == MONEY:
        return bool(_MONEY.search(text)) or bool(_NUMBER.search(text) and _BIG_AMOUNT.search(text))
    if kind == NUMBER:
        return bool(_NUMBER.search(text))
    if kind == DURATION:
        return bool(_DURATION.search(text))
    return bool(_TIME.search(text))
