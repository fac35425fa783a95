"""Does a customer's message ask something? A rule-based detector for Russian.

Customers often drop the question mark («подскажите где заказ», «работаете ли сегодня»), so a
"?" alone misses many questions; an interrogative word alone is fooled by exclamations
(«как же вы достали!») and subordinate clauses («когда приехал курьер, всё остыло»). The rules
below combine both, sentence by sentence.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["is_question"]

# A "?" inside a link is not a question («...?utm_source=vk»).
_LINK = re.compile(r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:ru|рф|com|net|org|su|me|io)/\S*", re.I)

# Sentence ends, and a spaced dash, which often starts a new clause («Заказ 7781 — можно ...»).
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])(?=[^.!?…])|\n|\s[—–-]\s")

# Questions that ask nothing: indignation the operator answers with an apology, not a fact. They
# only matter for complaints (which go to the complaints column anyway), but `is_question` is
# also reported on its own.
_RHETORICAL = re.compile(
    r"^(?:а\s+|ну\s+)?(?:(?:сколько|скока|скоко)\s+(?:можно|это\s+(?:будет\s+)?продолжаться)"
    r"|доколе|вам\s+не\s+стыдно|не\s+стыдно|как\s+(?:можно|так\s+можно)\s+было"
    r"|вы\s+(?:там\s+)?(?:вообще\s+)?(?:издеваетесь|серьезно|уснули|живые|с\s+ума\s+сошли)"
    r"|вы\s+(?:там|вообще)\s+(?:вообще\s+)?(?:работаете|читаете)"
    r"|(?:это\s+)?(?:вообще\s+)?норм(?:ально)?\s+(?:вообще|это)|это\s+(?:вообще\s+)?нормально"
    r"|(?:а\s+)?можно\s+(?:хоть|хотя\s+бы|один)\s+раз\s+без|(?:кому|куда)\s+(?:вообще\s+)?жаловаться"
    r"|(?:серьезно|реально|да\s+ладно|и\s+(?:что|че))[\s?!.)]*$)"
)
_WORD = re.compile(r"[а-яa-z]+(?:-[а-яa-z]+)*")

# Words that open a question when they open a sentence.
_OPENERS: Final = frozenset(
    {
        "как", "когда", "када", "где", "куда", "откуда", "почему", "зачем", "отчего", "сколько",
        "скок", "скока", "скоко", "скольки", "какой", "какая", "какое", "какие", "какого", "какую",
        "каким", "какими", "каких", "каком", "какому", "что", "чего", "чем", "чём", "кто", "кого",
        "кому", "кем", "ком",
        "чей", "чья", "чьё", "чье", "чьи", "можно", "нельзя", "возможно", "неужели", "разве",
        "реально", "правда",
    }
)  # fmt: skip

# Openers that also start ordinary statements; see _is_subordinate.
_AMBIGUOUS_OPENERS: Final = frozenset({"как", "когда", "где", "куда", "что", "кто", "чем"})

# Two-word openers that are statements or exclamations, not questions.
_NOT_OPENERS: Final = frozenset(
    {
        ("как", "всегда"), ("как", "обычно"), ("как", "и"), ("как", "будто"), ("как", "же"),
        ("как", "говорится"), ("как", "минимум"), ("как", "раз"), ("что", "ж"), ("что", "же"),
        ("что", "за"), ("какой", "же"), ("какая", "же"), ("какое", "же"), ("какие", "же"),
        ("где", "то"), ("кто", "то"), ("когда", "то"), ("возможно", "я"), ("правда", "в"),
        ("сколько", "можно"), ("реально", "не"),
        ("можно", "не"), ("нельзя", "не"), ("скока", "можно"), ("скоко", "можно"),
    }
)  # fmt: skip

# Phrases that ask for information wherever they stand in a sentence.
_REQUESTS = re.compile(
    r"\b(?:подскажите|подскажи|подскажете|скажите|скажи|расскажите|уточните|объясните"
    r"|посоветуйте|не\s+знаете|не\s+могли\s+бы|нельзя\s+ли|хочу\s+уточнить"
    r"|хотел[аи]?\s+бы\s+уточнить|интересуе?т|интересуют|где\s+вы|вы\s+где)\b"
)

# «ли» after a verb or «есть» («есть ли», «работаете ли»), minus the idioms that are not asking.
_LI = re.compile(r"\b(?!(?:вряд|навряд|едва|чуть)\s)[а-я]+\s+ли\b")

# «а вы ...», «а у вас ...», «у вас есть ...» at the start of a sentence ask yes/no.
_YES_NO_START = re.compile(r"^(?:а\s+)?(?:у\s+вас\s+(?:есть|можно|будет)|а\s+(?:вы|у\s+вас))\b")

# «во сколько», «до скольки», «в какое время»: a preposition may precede the interrogative.
_PREPOSITIONS: Final = frozenset(
    {
        "в",
        "во",
        "на",
        "с",
        "со",
        "по",
        "до",
        "от",
        "из",
        "к",
        "ко",
        "за",
        "о",
        "об",
        "про",
        "для",
        "у",
    }
)

# «Какой вкусный штрудель» without a "?" admires; «какой у вас адрес» asks.
_ADJECTIVE_ENDING = re.compile(r"(?:ый|ий|ой|ая|яя|ое|ее|ие|ые)$")

# Leading words that do not change what the sentence is: greetings, fillers, addresses.
_LEAD_IN = re.compile(
    r"^(?:(?:здравствуйте|здрасьте|здрасте|привет|приветствую|хай|hi|добрый\s+(?:день|вечер|утро)"
    r"|доброе\s+утро|доброго\s+времени\s+суток|алло|извините|простите|ребята|ребят|девушка"
    r"|девушки|уважаемые|уважаемая\s+администрация"
    r"|и|ну|так|вот|кстати|слушайте|и\s+все\s+же|все\s+же|короче|блин)\b[\s,:;-]*)+"
)

# Past-tense verb: «приехал», «поняла», «купили». Used to spot «когда приехал курьер, ...».
_PAST_VERB = re.compile(r"\b[а-я]+[аяиеыуо]л[аои]?\b")


_EXCLAMATIVE = re.compile(r"\b(?:как|какой|какая|какое|какие)\s+же\b|\bчто\s+за\b")


def _is_subordinate(sentence: str) -> bool:
    """«Когда приехал курьер, всё остыло»: a past-tense clause ended by a comma is a statement."""
    head, comma, _ = sentence.partition(",")
    return bool(comma) and _PAST_VERB.search(head) is not None


def _first_words(sentence: str) -> list[str]:
    # Four words fit in the first 120 characters unless a word is absurdly long.
    words = _WORD.findall(sentence, 0, 120)[:4]
    if words and words[0] == "а":
        del words[0]
    if len(words) > 1 and words[0] in _PREPOSITIONS:
        del words[0]
    return words


def _sentence_is_question(raw: str) -> bool:
    body = raw.rstrip(".!… ")
    sentence = _LEAD_IN.sub("", body.strip(' ,;:-—–\t"«»()'))
    if not sentence:
        return False
    if "!" in raw[len(body) :] or _EXCLAMATIVE.search(sentence):
        # «Как же вы достали!», «Какой же ужас», «что за бардак»: exclamations.
        return False
    if " ли" in sentence and _LI.search(sentence):
        return True
    if _YES_NO_START.search(sentence):
        return True
    words = _first_words(sentence)
    if not words or words[0] not in _OPENERS:
        return False
    following = words[1] if len(words) > 1 else ""
    if (words[0], following) in _NOT_OPENERS:
        return False
    if words[0].startswith("как") and len(following) > 3 and _ADJECTIVE_ENDING.search(following):
        return False
    return not (words[0] in _AMBIGUOUS_OPENERS and _is_subordinate(sentence))


def _asks(sentence: str) -> bool:
    if "?" not in sentence:
        return _sentence_is_question(sentence)
    plain = _LEAD_IN.sub("", sentence.strip(' ,;:-—–\t"«»()'))
    return _RHETORICAL.search(plain) is None


def is_question(text: str) -> bool:
    """True when any sentence of `text` asks something (with or without a "?")."""
    text = text.lower().replace("ё", "е").replace("\u00a0", " ")
    if "?" in text:
        text = _LINK.sub(" ", text)
    if _REQUESTS.search(text):
        return True
    return any(_asks(part) for part in _SENTENCE_BREAK.split(text))
