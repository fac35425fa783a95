"""Labelled texts for training and evaluating the sentiment model, read from where they live.

The public corpora are never copied into the repository: they are read from a data directory
(`../shared/data` beside the repo, `$SOCIALTUI_DATA`, or `--data`). Each reader maps its corpus's
labels to negative / neutral / positive as the model card documents, and drops what does not fit.
RuSentiment (CC BY-NC-SA) has a reader for evaluation only; `training_corpora` never calls it.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from triage.errors import SocialtuiError

__all__ = [
    "CUSTOMER_CARE_FILES",
    "DATA_DIR",
    "GENERATED_PATH",
    "HANDWRITTEN_PATH",
    "LABELS",
    "SEED_PATH",
    "SOCIAL_LABELS",
    "CustomerCare",
    "DataError",
    "Example",
    "customer_care",
    "default_data_dir",
    "is_held_out",
    "read_cedr",
    "read_goemotions",
    "read_labelled_tsv",
    "read_rusentiment",
    "read_rusentne",
    "social_posts",
    "split_held_out",
    "training_corpora",
]

LABELS: Final = ("negative", "neutral", "positive")
DATA_DIR: Final = Path(__file__).resolve().parent / "data"
# The project's customer-care corpus (triage/data/README.md):
# - the first 600 messages, written by hand;
SEED_PATH: Final = DATA_DIR / "customer_care_seed.tsv"
# - about 5,000 more from the phrase grammar in generate_corpus.py;
GENERATED_PATH: Final = DATA_DIR / "customer_care_generated.tsv"
# - about 300 written by hand apart from the grammar and never trained on, so that the held-out
#   figures are not only a test of how well the model learnt the grammar's templates.
HANDWRITTEN_PATH: Final = DATA_DIR / "customer_care_handwritten.tsv"
CUSTOMER_CARE_FILES: Final = (SEED_PATH, GENERATED_PATH)
# The project's social-posts corpus (triage/data/README.md): ordinary posts, comments and chat
# lines from personal pages and communities, written by hand, so that the model also knows what
# everyday talk that is no complaint looks like. It adds dostoevsky's fourth label, `speech`
# (greetings, congratulations, formulaic thanks), which the engine folds into neutral.
SOCIAL_GLOB: Final = "general_posts_*.tsv"
SOCIAL_LABELS: Final = (*LABELS, "speech")
# Share of the seed and generated messages kept out of training, chosen by a hash of the text so
# that a message stays on its side of the split when the files grow or are reordered.
HELD_OUT_PERCENT: Final = 25

# Some rows are longer than csv's default field limit allows.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class DataError(SocialtuiError):
    """A corpus or labelled file is missing or malformed."""


@dataclass(frozen=True, slots=True)
class Example:
    label: str
    text: str
    source: str
    # Whether the message asks something; None where the corpus does not say.
    is_question: bool | None = None


@dataclass(frozen=True, slots=True)
class CustomerCare:
    """The project's own corpus, split so that no held-out message is ever trained on."""

    train: list[Example]
    # Seed and generated messages whose text hashes into the held-out share.
    held_out: list[Example]
    # The hand-written file, held out as a whole.
    handwritten: list[Example]

    def held_out_by_source(self) -> dict[str, list[Example]]:
        sources: dict[str, list[Example]] = {}
        for example in self.held_out:
            sources.setdefault(example.source, []).append(example)
        return sources


def default_data_dir() -> Path:
    env = os.environ.get("SOCIALTUI_DATA")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def is_held_out(text: str) -> bool:
    digest = hashlib.blake2b(_normal_key(text).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 100 < HELD_OUT_PERCENT


def _normal_key(text: str) -> str:
    return " ".join(text.lower().replace("ё", "е").split())


def _require(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"{path} not found (set --data or $SOCIALTUI_DATA to the corpora folder)")
    return path


def _rows(path: Path, delimiter: str = ",") -> Iterator[dict[str, str]]:
    with _require(path).open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle, delimiter=delimiter)


def _label_list(cell: str) -> list[int]:
    # CEDR writes "[0, 3]"; ru-goemotions writes numpy's "[ 4 27]".
    return [int(number) for number in re.findall(r"\d+", cell)]


def _single(classes: Iterable[str | None]) -> str | None:
    """The one class the labels agree on; None when they conflict or say nothing."""
    found = {label for label in classes if label is not None}
    return found.pop() if len(found) == 1 else None


# --- CEDR (Apache-2.0): 0 joy, 1 sadness, 2 surprise, 3 fear, 4 anger -----------------------

_CEDR: Final[dict[int, str | None]] = {
    0: "positive",
    1: "negative",
    2: None,
    3: "negative",
    4: "negative",
}


def read_cedr(data_dir: Path, split: str = "train") -> list[Example]:
    """[] -> neutral; joy -> positive; sadness/fear/anger -> negative; surprise alone -> neutral;
    joy with a negative emotion -> dropped."""
    examples = []
    for row in _rows(data_dir / "cedr" / f"cedr-main-{split}.csv"):
        codes = _label_list(row["labels"])
        label = "neutral" if all(code == 2 for code in codes) else _single(_CEDR[c] for c in codes)
        if label is not None:
            examples.append(Example(label, row["text"], "cedr"))
    return examples


# --- RuSentNE-2023 (MIT): entity-level -1/0/1 in news sentences -----------------------------

_RUSENTNE: Final = {"-1": "negative", "0": "neutral", "1": "positive"}


def read_rusentne(data_dir: Path) -> list[Example]:
    """One example per sentence: negative/positive if some entity is and none is the opposite,
    neutral if every entity is neutral, dropped if the sentence holds both polarities."""
    by_sentence: dict[str, set[str]] = defaultdict(set)
    for name in ("train_data.csv", "validation_data_labeled.csv"):
        for row in _rows(data_dir / "rusentne2023" / name, delimiter="\t"):
            by_sentence[row["sentence"]].add(_RUSENTNE[row["label"].strip()])
    examples = []
    for sentence, labels in by_sentence.items():
        polar = labels - {"neutral"}
        if len(polar) == 1:
            examples.append(Example(polar.pop(), sentence, "rusentne"))
        elif not polar:
            examples.append(Example("neutral", sentence, "rusentne"))
    return examples


# --- ru-goemotions (MIT): 28 GoEmotions labels, machine-translated --------------------------

_GOEMOTIONS_NEGATIVE: Final = frozenset(
    {"anger", "annoyance", "disappointment", "disapproval", "disgust", "sadness", "grief", "fear"}
    | {"nervousness", "remorse", "embarrassment"}
)
_GOEMOTIONS_POSITIVE: Final = frozenset(
    {"admiration", "amusement", "approval", "gratitude", "joy", "love", "optimism", "pride"}
    | {"relief", "excitement", "caring"}
)


def _goemotions_names(data_dir: Path) -> dict[int, str]:
    # id_to_label.yaml is a flat "N: name" list; no YAML parser needed.
    text = _require(data_dir / "ru_goemotions" / "id_to_label.yaml").read_text(encoding="utf-8")
    return {int(m[1]): m[2] for m in re.finditer(r"^(\d+):\s*(\w+)", text, re.M)}


def _goemotions_class(name: str) -> str | None:
    if name in _GOEMOTIONS_NEGATIVE:
        return "negative"
    if name in _GOEMOTIONS_POSITIVE:
        return "positive"
    return "neutral" if name == "neutral" else None


def read_goemotions(data_dir: Path) -> list[Example]:
    """Negative/positive/neutral emotion groups; texts whose labels span groups are dropped."""
    names = _goemotions_names(data_dir)
    examples = []
    for split in ("test", "validation"):
        path = data_dir / "ru_goemotions" / f"ru-go-emotions-simplified-{split}.csv"
        for row in _rows(path):
            label = _single(_goemotions_class(names[code]) for code in _label_list(row["labels"]))
            if label is not None:
                examples.append(Example(label, row["ru_text"], "ru_goemotions"))
    return examples


# --- RuSentiment (CC BY-NC-SA 4.0): EVALUATION ONLY -----------------------------------------

_RUSENTIMENT: Final = {
    "negative": "negative",
    "positive": "positive",
    "neutral": "neutral",
    "speech": "neutral",
    "skip": "neutral",
}


def read_rusentiment(data_dir: Path) -> list[Example] | None:
    """rusentiment_test.csv mapped to three classes, or None if absent. Never train on it."""
    path = data_dir / "rusentiment" / "rusentiment_test.csv"
    if not path.is_file():
        return None
    return [Example(_RUSENTIMENT[r["label"]], r["text"], "rusentiment") for r in _rows(path)]


# --- the project's own labelled files -------------------------------------------------------


def read_labelled_tsv(
    path: Path, source: str | None = None, labels: tuple[str, ...] = LABELS
) -> list[Example]:
    """`label<TAB>is_question<TAB>text` (is_question 0 or 1) or `label<TAB>text` per line.

    Blank lines are skipped; anything else malformed is rejected with its line number."""
    hint = "expected 'LABEL<TAB>TEXT' or 'LABEL<TAB>0|1<TAB>TEXT', LABEL one of " + ", ".join(
        labels
    )
    examples = []
    with _require(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            label, tab, rest = line.partition("\t")
            question: bool | None = None
            flag, tab2, text = rest.partition("\t")
            if tab2 and flag in ("0", "1"):
                question = flag == "1"
            else:
                text = rest
            if not tab or label not in labels or not text.strip():
                raise DataError(f"{path}:{number}: {hint}")
            examples.append(Example(label, text, source or path.stem, question))
    return examples


def split_held_out(examples: Iterable[Example]) -> tuple[list[Example], list[Example]]:
    """(train, held_out) by a hash of each text."""
    train: list[Example] = []
    held_out: list[Example] = []
    for example in examples:
        (held_out if is_held_out(example.text) else train).append(example)
    return train, held_out


def customer_care() -> CustomerCare:
    """The customer-care corpus shipped in triage/data, split for training and evaluation."""
    corpus = [
        example
        for path, source in zip(CUSTOMER_CARE_FILES, ("seed", "generated"), strict=True)
        for example in read_labelled_tsv(path, source)
    ]
    train, held_out = split_held_out(corpus)
    return CustomerCare(train, held_out, read_labelled_tsv(HANDWRITTEN_PATH, "handwritten"))


def social_posts(customer: CustomerCare | None = None) -> tuple[list[Example], list[Example]]:
    """(train, held_out) of the social-posts corpus, split by the same text hash. `customer` is
    the customer-care corpus, when the caller has already read it.

    `speech` is folded into neutral here, as the engine folds it. Trained as a class of its own
    it did worse: macro-F1 0.735 against 0.764 on the held-out posts (bench/sentiment.py)."""
    # Short reactions («ок», «лол») recur across files; the first writer's label wins. A post
    # that is also a customer-care message is left to that corpus, so that no held-out customer
    # message is ever trained on through this one.
    customer = customer or customer_care()
    taken = {_normal_key(e.text) for e in customer.train + customer.held_out + customer.handwritten}
    examples: dict[str, Example] = {}
    for path in sorted(DATA_DIR.glob(SOCIAL_GLOB)):
        for example in read_labelled_tsv(path, "social", SOCIAL_LABELS):
            if example.label == "speech":
                example = replace(example, label="neutral")
            key = _normal_key(example.text)
            if key not in taken:
                examples.setdefault(key, example)
    return split_held_out(examples.values())


def training_corpora(data_dir: Path) -> dict[str, list[Example]]:
    """The permissively licensed corpora a shipped model may learn from."""
    return {
        "cedr": read_cedr(data_dir, "train"),
        "rusentne": read_rusentne(data_dir),
        "ru_goemotions": read_goemotions(data_dir),
    }
