"""Write `customer_care_generated.tsv`: short Russian messages customers send to businesses.

    uv run python triage/data/generate_corpus.py [--seed N] [--count N] [--out PATH]

Deterministic for a given seed: the same command writes the same bytes. Each line is
`label<TAB>is_question<TAB>text`, label in negative / neutral / positive, is_question 1 or 0.

How it works. `corpus_grammar.py` (next to this file) holds, per industry (cafés, food delivery,
shops and marketplaces, banks, telecoms, beauty salons, taxis, home and car services, clinics and
fitness), slot lists of hand-written clauses (what went wrong, what was good, what customers ask,
what they report) and, for all industries, hand-written message templates per label: plain and
polite complaints, sarcasm, complaints phrased as questions, praise with «не», neutral check-ins,
greetings. A template is expanded with a tiny grammar:

    {slot}      a random value of the slot (values are templates themselves)
    (a|b|c)     one of the alternatives
    [a]  [a|b]  optional: nothing, or one of the alternatives
    ¿           marks a real question (the customer wants an answer); removed from the text
    \\)          a literal bracket (a smiley); likewise \\( \\[ \\] \\|

Then "customer noise" is applied: lowercase starts, dropped punctuation and question marks,
ё→е, typos (swapped, dropped, doubled letters, neighbouring keys), slang («щас», «чё», «спс»),
emoji and brackets that fit the label, shouting in capitals. Duplicates (after normalising case
and spaces) are dropped.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

HERE: Final = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus_grammar as grammar  # noqa: E402

DEFAULT_SEED: Final = 20261123
DEFAULT_COUNT: Final = 5000
DEFAULT_OUT: Final = HERE / "customer_care_generated.tsv"
HAND_WRITTEN: Final = ("customer_care_seed.tsv", "customer_care_handwritten.tsv")
QUESTION_MARK: Final = "¿"

# --- a tiny template grammar ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Slot:
    name: str


@dataclass(frozen=True, slots=True)
class Choice:
    options: tuple[tuple[Node, ...], ...]
    optional: bool


Node = str | Slot | Choice


class GrammarError(ValueError):
    pass


def parse(template: str) -> tuple[Node, ...]:
    nodes, end = _sequence(template, 0, "")
    if end != len(template):
        raise GrammarError(f"unbalanced {template[end]!r} in {template!r}")
    return nodes


def _sequence(text: str, i: int, stops: str) -> tuple[tuple[Node, ...], int]:
    nodes: list[Node] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            nodes.append("".join(literal))
            literal.clear()

    while i < len(text) and text[i] not in stops:
        char = text[i]
        if char in "([":
            flush()
            close = ")" if char == "(" else "]"
            options: list[tuple[Node, ...]] = []
            i += 1
            while True:
                option, i = _sequence(text, i, "|" + close)
                options.append(option)
                if i >= len(text):
                    raise GrammarError(f"missing {close!r} in {text!r}")
                if text[i] == close:
                    i += 1
                    break
                i += 1  # "|"
            nodes.append(Choice(tuple(options), optional=char == "["))
        elif char == "\\":  # a literal bracket or bar: \\( \\) \\[ \\] \\|
            literal.append(text[i + 1])
            i += 2
        elif char == "{":
            flush()
            end = text.index("}", i)
            nodes.append(Slot(text[i + 1 : end]))
            i = end + 1
        elif char in ")]}|":
            if char in stops:
                break
            raise GrammarError(f"unexpected {char!r} in {text!r}")
        else:
            literal.append(char)
            i += 1
    flush()
    return tuple(nodes), i


class Expander:
    def __init__(self, slots: Mapping[str, Sequence[str]], rng: random.Random) -> None:
        self.slots = slots
        self.rng = rng
        self._parsed: dict[str, tuple[Node, ...]] = {}

    def has_slots(self, template: str) -> bool:
        return all(self._known(name) for name in _slot_names(template))

    def _known(self, name: str) -> bool:
        if name in self.slots or name in DYNAMIC:
            return True
        base, _, case = name.rpartition("_")
        return case in ("lc", "cap") and self._known(base)

    def expand(self, template: str) -> str:
        return "".join(self._node(node) for node in self._parse(template))

    def _parse(self, template: str) -> tuple[Node, ...]:
        parsed = self._parsed.get(template)
        if parsed is None:
            parsed = self._parsed[template] = parse(template)
        return parsed

    def _node(self, node: Node) -> str:
        if isinstance(node, str):
            return node
        if isinstance(node, Slot):
            return self._slot(node.name)
        if node.optional and self.rng.random() < 0.5:
            return ""
        return "".join(self._node(child) for child in self.rng.choice(node.options))

    def _slot(self, name: str) -> str:
        if name in DYNAMIC:
            return DYNAMIC[name](self.rng)
        if name in self.slots:
            return self.expand(self.rng.choice(self.slots[name]))
        base, _, case = name.rpartition("_")
        text = self._slot(base)
        return text[:1].lower() + text[1:] if case == "lc" else text[:1].upper() + text[1:]


_SLOT_NAME = re.compile(r"\{(\w+)\}")


def _slot_names(template: str) -> set[str]:
    return set(_SLOT_NAME.findall(template))


# Slots computed on the fly: numbers, times, names.
def _money(rng: random.Random) -> str:
    value = rng.choice([rng.randrange(150, 990, 10), rng.randrange(1000, 9990, 10)])
    text = str(value) if value < 1000 or rng.random() < 0.6 else f"{value:,}".replace(",", " ")
    return text + rng.choice(["", "", " р", " руб", " рублей", " ₽", "р"])


def _time(rng: random.Random) -> str:
    hour = rng.randrange(8, 23)
    minute = rng.choice(["00", "00", "30", "15", "45"])
    return rng.choice([f"{hour}:{minute}", f"{hour}:{minute}", f"{hour}.{minute}", str(hour)])


DYNAMIC: Final[dict[str, Callable[[random.Random], str]]] = {
    "num3": lambda rng: str(rng.randrange(100, 1000)),
    "num4": lambda rng: str(rng.randrange(1000, 10000)),
    "num5": lambda rng: str(rng.randrange(10000, 100000)),
    "order": lambda rng: rng.choice(["№", "№ ", "", "", "#"]) + str(rng.randrange(1000, 10**6)),
    "money": _money,
    "time": _time,
    "people": lambda rng: rng.choice(["двоих", "троих", "четверых", "2", "3", "4", "5", "6"]),
}


# --- customer noise -----------------------------------------------------------------------------

_NEIGHBOURS: Final = {
    a: b
    for row in ("йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю")
    for a, b in zip(row, row[1:] + row[-2], strict=True)
}
_SLANG: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    (r"\bсейчас\b", ("щас", "ща", "сейчас")),
    (r"\bсегодня\b", ("седня", "сегодня", "сёдня")),
    (r"\bчто(?=\s+(?:за|с|там|случилось|происходит)\b)", ("чё", "че", "что", "шо")),
    (r"\bспасибо\b", ("спс", "спасиб", "спасибки", "пасиб")),
    (r"\bпожалуйста\b", ("пжлст", "пож", "плиз", "пожалуйста", "пожалуйсто")),
    (r"\bвообще\b", ("ваще", "вообще")),
    (r"\bочень\b", ("оч", "очень")),
    (r"\bнормально\b", ("норм", "нормально")),
    (r"\bкороче\b", ("кароч", "короче")),
    (r"\bконечно\b", ("конечн", "канеш")),
    (r"\bздравствуйте\b", ("здрасте", "здравствуйте", "здраствуйте", "здрасьте")),
    (r"\bтолько\b", ("тока", "только")),
    (r"\bкогда\b", ("када", "когда")),
    (r"\bпривет\b", ("прив", "привет", "приветик")),
    (r"\bсколько\b", ("скока", "сколько")),
)
_EMOJI: Final = {
    "negative": ("😡", "🤬", "😤", "🙄", "😠", "👎", "😒", "🤦‍♀️", "🤦", "😞", "😢", "😭", "💩"),
    "sarcasm": ("👏", "👍", "🙂", "😊", "🤡", "😄"),
    "neutral": ("🙏", "🙂", "😊", "👌"),
    "positive": ("❤️", "😍", "🔥", "👍", "🙏", "😊", "🥰", "💐", "✨", "🤗", "👏", "💪", "😋"),
}
_SARCASM = re.compile(
    r"спасибо|благодар|класс|супер|браво|отличн|прекрасн|шикарн|обожаю|лучш|молодц|«", re.I
)


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 2)
    kind = rng.random()
    if kind < 0.3:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind < 0.55:
        return word[:i] + word[i + 1 :]
    if kind < 0.7:
        return word[:i] + word[i] + word[i:]
    neighbour = _NEIGHBOURS.get(word[i])
    return word[:i] + neighbour + word[i + 1 :] if neighbour else word


def _picker(options: tuple[str, ...], rng: random.Random) -> Callable[[re.Match[str]], str]:
    return lambda _match: rng.choice(options)


def add_noise(text: str, label: str, question: bool, rng: random.Random) -> str:
    """Make a clean template sentence read like a message typed on a phone."""
    if "ё" in text and rng.random() < 0.7:
        text = text.replace("ё", "е").replace("Ё", "Е")
    if rng.random() < 0.25:
        for pattern, options in _SLANG:
            if rng.random() < 0.5:
                text = re.sub(pattern, _picker(options, rng), text, flags=re.I)
    if rng.random() < 0.1:
        words = text.split(" ")
        for _ in range(rng.choice((1, 1, 1, 2))):
            k = rng.randrange(len(words))
            words[k] = _typo(words[k], rng)
        text = " ".join(words)
    if rng.random() < 0.15:
        text = text.replace(",", "")
    if question and rng.random() < 0.25:
        text = text.replace("?", "")
    if rng.random() < 0.4:
        text = text.rstrip(".")
    emoji_roll = rng.random()
    if label == "negative":
        if _SARCASM.search(text) and emoji_roll < 0.2:
            text = text.rstrip(".") + " " + rng.choice(_EMOJI["sarcasm"])
        elif emoji_roll < 0.22:
            text = (
                text.rstrip(".") + " " + rng.choice(_EMOJI["negative"]) * rng.choice((1, 1, 2, 3))
            )
        elif emoji_roll < 0.32:
            marks = ("???", "?!", "??", "?!!") if text.endswith("?") else ("!!!", "!!", "!!!!!")
            text = re.sub(r"[!?]+$", "", text) + rng.choice(marks)
        if rng.random() < 0.04:
            text = text.upper()
        elif rng.random() < 0.05:
            words = text.split(" ")
            k = rng.randrange(len(words))
            words[k] = words[k].upper()
            text = " ".join(words)
    elif label == "positive":
        if emoji_roll < 0.3:
            text = (
                text.rstrip(".") + " " + rng.choice(_EMOJI["positive"]) * rng.choice((1, 1, 2, 3))
            )
        elif emoji_roll < 0.45:
            text = text.rstrip(".!") + rng.choice((")", "))", ")))", "!))", "!!!", "!)"))
    else:
        if emoji_roll < 0.07:
            text = text.rstrip(".") + " " + rng.choice(_EMOJI["neutral"])
        elif emoji_roll < 0.2:
            text = text.rstrip(".") + rng.choice((")", ")", "))", " )"))
    if rng.random() < 0.3:
        text = text[:1].lower() + text[1:]
        if rng.random() < 0.3:
            text = text.lower()
    return text


# --- assembling messages ------------------------------------------------------------------------

_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.!?…:;)])")
_DOUBLE_PUNCT = re.compile(r"([,.:;])\s*([.!?,])")


def tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip(" ,;:")
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = re.sub(r"\(\s+", "(", text)
    text = _DOUBLE_PUNCT.sub(lambda m: m[2] if m[1] in ",:;" else m[1], text)
    text = re.sub(r"\.\.(?!\.)", ".", text)
    # Sentence case after a full stop, and at the start.
    text = re.sub(r"([.!?]\s+)([а-яё])", lambda m: m[1] + m[2].upper(), text)
    return text[:1].upper() + text[1:]


@dataclass(frozen=True, slots=True)
class Message:
    label: str
    is_question: bool
    text: str


def normal_key(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower().replace("ё", "е")).split())


def _repeats(key: str) -> bool:
    """True when a clause came out twice («кроссовки удобные, и кроссовки удобные»)."""
    words = key.split()
    trigrams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    return len(trigrams) != len(set(trigrams))


def generate(count: int, seed: int, exclude: Sequence[str] = ()) -> list[Message]:
    """`count` distinct messages; none equal (case and punctuation aside) to one in `exclude`."""
    rng = random.Random(seed)
    shared = grammar.SHARED_SLOTS
    industries = list(grammar.INDUSTRIES.items())
    expanders = {
        name: Expander({**shared, **slots}, random.Random(rng.random()))
        for name, slots in industries
    }
    usable = {
        name: {
            label: [t for t in grammar.TEMPLATES[label] if expanders[name].has_slots(t)]
            for label in grammar.TEMPLATES
        }
        for name, _ in industries
    }
    labels, weights = zip(*grammar.LABEL_SHARE.items(), strict=True)
    seen = {normal_key(text) for text in exclude}
    messages: list[Message] = []
    attempts = 0
    while len(messages) < count:
        attempts += 1
        if attempts > count * 50:
            raise RuntimeError("the grammar cannot produce that many distinct messages")
        name, _ = rng.choice(industries)
        label = rng.choices(labels, weights)[0]
        template = rng.choice(usable[name][label])
        raw = tidy(expanders[name].expand(template))
        question = QUESTION_MARK in raw
        text = raw.replace(QUESTION_MARK, "")
        text = tidy(text) if text else text
        text = add_noise(text, label, question, rng).strip()
        key = normal_key(text)
        if not key or key in seen or "\t" in text or len(text) > 400 or _repeats(key):
            continue
        seen.add(key)
        messages.append(Message(label, question, text))
    return messages


def write(messages: Sequence[Message], out: Path) -> None:
    lines = [f"{m.label}\t{int(m.is_question)}\t{m.text}\n" for m in messages]
    out.write_text("".join(lines), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    # The hand-written files stay distinct from the generated one, so that no hand-written
    # held-out message can leak into training through a generated twin.
    hand_written = [
        line.split("\t")[-1]
        for name in HAND_WRITTEN
        for line in (HERE / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    messages = generate(args.count, args.seed, hand_written)
    write(messages, args.out)
    shares = Counter(m.label for m in messages)
    questions = sum(m.is_question for m in messages)
    print(f"wrote {len(messages)} messages to {args.out}: {dict(shares)}, {questions} questions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
