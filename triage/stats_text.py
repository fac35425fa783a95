"""What customers complain about: the top words and two-word phrases of negative items.

Tokens come from razdel (it keeps «кое-где», «т.е.» and emoji apart the way Russian text needs).
Words are grouped by a light suffix-stripping stemmer, the Snowball Russian algorithm written
out below, so «доставку», «доставка» and «доставки» count as one word; each group is shown as
its most frequent spelling, so the operator reads real words, not stems. pymorphy3 would give
true lemmas, but it is a dependency with a 15 MB dictionary, and for ranking complaint words
the stem groups are as good: they are never shown.

A word counts once per item (document frequency), so one customer repeating «ужас» five times
does not outrank five customers. Stop words (pronouns, prepositions, greetings) are dropped;
«не» is kept as the first word of a phrase, because «не пришёл» is the complaint.
Phrases are two words standing next to each other in the text, with no stop word or
punctuation between them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import razdel

from triage.sanitize import clean_text

_STOP_TEXT = """
    а без более бы был была были было быть в вам вас весь во вот все всё всего всех вы где да
    даже для до его ее её ей ему если есть еще ещё же за здесь и из или им их к как какой
    когда кто ли либо мне меня мне мной мы на над нам нас наш наша наше наши не него нее неё
    нет ни них но ну о об однако он она они оно от очень по под после потому при про раз с
    сам свой себе себя со так также там тем то тогда того тоже той только том ту тут ты у уж
    уже чем что чтобы эта эти это этого этой этом этот я ой ах вообще просто вот это мой моя
    мое моё мои можно нужно надо будет будут буду был сейчас сегодня вчера завтра тебе тебя
    вы ваш ваша ваше ваши вам вами какая какие каких который которая которые которых пожалуйста
    здравствуйте добрый привет спасибо день вечер утро всем снова опять ещё чтоб никто ничего
    никогда всегда почему зачем сколько где куда откуда тоже итак типа вроде кстати хотя тот
    та те больше
    the a an and or to of in on for is are was it this that you we i my your
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_TEXT.split())

# Kept inside a phrase («не работает»), never counted as a word of its own.
NEGATIONS: frozenset[str] = frozenset({"не", "нет", "ни"})

_VOWELS = frozenset("аеиоуыэюя")


def _endings(text: str) -> tuple[str, ...]:
    """Space-separated endings, longest first, so the first match is the longest."""
    return tuple(sorted(text.split(), key=len, reverse=True))


# The Snowball Russian ending classes; the "_1" groups count only after «а» or «я».
_PERFECTIVE_GERUND_1 = _endings("в вши вшись")
_PERFECTIVE_GERUND_2 = _endings("ив ивши ившись ыв ывши ывшись")
_ADJECTIVE = _endings(
    "ее ие ые ое ими ыми ей ий ый ой ем им ым ом его ого ему ому их ых ую юю ая яя ою ею"
)
_PARTICIPLE_1 = _endings("ем нн вш ющ щ")
_PARTICIPLE_2 = _endings("ивш ывш ующ")
_REFLEXIVE = _endings("ся сь")
_VERB_1 = _endings("ла на ете йте ли й л ем н ло но ет ют ны ть ешь нно")
_VERB_2 = _endings(
    "ила ыла ена ейте уйте ите или ыли ей уй ил ыл им ым ен ило ыло ено ят ует уют ит ыт ены"
    " ить ыть ишь ую ю"
)
_NOUN = _endings(
    "а ев ов ие ье е иями ями ами еи ии и ией ей ой ий й иям ям ием ем ам ом о у ах иях ях ы ь"
    " ию ью ю ия ья я"
)
_SUPERLATIVE = _endings("ейш ейше")
_DERIVATIONAL = _endings("ост ость")


def _ending(rv: str, endings: Sequence[str], after_a: bool = False) -> int:
    """The length of the longest ending of `rv` in `endings` (0 if none). With `after_a` the
    ending must follow «а» or «я», which stays."""
    for ending in endings:
        if rv.endswith(ending) and (
            not after_a or (len(rv) > len(ending) and rv[-len(ending) - 1] in "ая")
        ):
            return len(ending)
    return 0


def _longest(rv: str, after_a: Sequence[str], plain: Sequence[str]) -> int:
    return max(_ending(rv, after_a, after_a=True), _ending(rv, plain))


def _region_after_vowel_consonant(word: str, start: int) -> int:
    for index in range(start + 1, len(word)):
        if word[index] not in _VOWELS and word[index - 1] in _VOWELS:
            return index + 1
    return len(word)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball Russian stem of a lower-case word («доставку» -> «доставк»)."""
    word = word.replace("ё", "е")
    rv_start = next((i + 1 for i, ch in enumerate(word) if ch in _VOWELS), len(word))
    head, rv = word[:rv_start], word[rv_start:]
    # Step 1
    cut = _longest(rv, _PERFECTIVE_GERUND_1, _PERFECTIVE_GERUND_2)
    if cut:
        rv = rv[:-cut]
    else:
        cut = _ending(rv, _REFLEXIVE)
        if cut:
            rv = rv[:-cut]
        cut = _ending(rv, _ADJECTIVE)
        if cut:
            rv = rv[:-cut]
            cut = _longest(rv, _PARTICIPLE_1, _PARTICIPLE_2)
            if cut:
                rv = rv[:-cut]
        else:
            cut = _longest(rv, _VERB_1, _VERB_2) or _ending(rv, _NOUN)
            if cut:
                rv = rv[:-cut]
    # Step 2
    if rv.endswith("и"):
        rv = rv[:-1]
    # Step 3: a derivational ending wholly inside R2
    r1 = _region_after_vowel_consonant(word, 0)
    r2 = _region_after_vowel_consonant(word, r1)
    for ending in _DERIVATIONAL:
        if rv.endswith(ending) and rv_start + len(rv) - len(ending) >= r2:
            rv = rv[: -len(ending)]
            break
    # Step 4
    if rv.endswith("нн"):
        rv = rv[:-1]
    else:
        cut = _ending(rv, _SUPERLATIVE)
        if cut:
            rv = rv[:-cut]
            if rv.endswith("нн"):
                rv = rv[:-1]
        elif rv.endswith("ь"):
            rv = rv[:-1]
    return head + rv


def words(text: str) -> list[str | None]:
    """Lower-case word tokens of `text`; None marks a break (punctuation, a number, a stop
    word), which a phrase may not span. Only letters (and inner hyphens) make a word, so no
    control or invisible character reaches the screen through here."""
    out: list[str | None] = []
    # Invisible characters would split or hide a word: the same cleaning as for the screen.
    for token in razdel.tokenize(clean_text(text)):
        word = token.text.lower()
        letters = word.replace("-", "")
        if not letters.isalpha() or word.startswith("-") or word.endswith("-"):
            out.append(None)
        elif word in NEGATIONS:
            out.append(word)
        elif word in STOP_WORDS or len(letters) < 3:
            out.append(None)
        else:
            out.append(word)
    return out


@dataclass(frozen=True, slots=True)
class ComplaintTerms:
    words: tuple[tuple[str, int], ...] = ()
    phrases: tuple[tuple[str, int], ...] = ()
    sampled: int = 0  # negative items read
    total: int = 0  # negative items in the range


@dataclass(slots=True)
class _Tally:
    items: Counter[str] = field(default_factory=Counter)
    spellings: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, found: dict[str, str], copies: int) -> None:
        """One item's terms (stem key -> its spelling there), counted `copies` times."""
        for key, spelling in found.items():
            self.items[key] += copies
            self.spellings.setdefault(key, Counter())[spelling] += copies

    def spelling(self, key: str) -> str:
        # The most frequent spelling; on a tie the first alphabetically, so runs agree.
        counts = self.spellings[key]
        return min(counts, key=lambda spelling: (-counts[spelling], spelling))

    def top(self, limit: int, min_count: int) -> tuple[tuple[str, int], ...]:
        ranked = sorted(
            (
                (self.spelling(key), count)
                for key, count in self.items.items()
                if count >= min_count
            ),
            key=lambda pair: (-pair[1], pair[0]),
        )
        return tuple(ranked[:limit])


def complaint_terms(
    texts: Sequence[str], total: int | None = None, limit: int = 15
) -> ComplaintTerms:
    """The `limit` most frequent words and phrases of `texts`, by items that contain them.

    With many texts, terms found in only one item are noise and are left out."""
    unigrams, bigrams = _Tally(), _Tally()
    # Copy-pasted complaints (and bots) repeat texts: each distinct one is read once.
    for text, copies in Counter(texts).items():
        seen_words: dict[str, str] = {}
        seen_pairs: dict[str, str] = {}
        previous: str | None = None
        for word in words(text):
            if word is None:
                previous = None
                continue
            if word not in NEGATIONS:
                seen_words.setdefault(stem(word), word)
                if previous is not None:
                    first = previous if previous in NEGATIONS else stem(previous)
                    seen_pairs.setdefault(f"{first} {stem(word)}", f"{previous} {word}")
            previous = word
        unigrams.add(seen_words, copies)
        bigrams.add(seen_pairs, copies)
    min_count = 2 if len(texts) >= 20 else 1
    return ComplaintTerms(
        words=unigrams.top(limit, min_count),
        phrases=bigrams.top(limit, min_count),
        sampled=len(texts),
        total=len(texts) if total is None else total,
    )
