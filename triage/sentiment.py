"""Sentiment of customer messages: dostoevsky's model API over our bundled fastText model.

`SentimentEngine` is the one `Classifier` the app uses. It loads a fastText model through a
subclass of dostoevsky's `FastTextSocialNetworkModel`, feeds it text tokenised by
`FastTokenizer`, and turns the probabilities into a label with a recall-first rule: operators
would rather glance at a false alarm than miss a complaint. The model, what it learnt from and how
well it does: triage/models/README.md.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Protocol

from dostoevsky.models import FastTextSocialNetworkModel
from dostoevsky.tokenization import BaseTokenizer

from triage.errors import SocialtuiError
from triage.model import Label, Sentiment
from triage.questions import is_question

__all__ = [
    "BUNDLED_MODEL_PATH",
    "DEFAULT_NEGATIVE_THRESHOLD",
    "Classifier",
    "FastTokenizer",
    "ModelFormatError",
    "ModelNotFoundError",
    "SentimentEngine",
    "SentimentModelError",
    "decide",
    "dostoevsky_model_path",
    "prepare",
    "tokenize",
]

BUNDLED_MODEL_PATH: Final = Path(__file__).resolve().parent / "models" / "socialtui-sentiment.ftz"

# Negative wins when P(negative) reaches this, although another label may be likelier: operators
# would rather glance at a false alarm than miss a complaint. Tuned by `python bench/sentiment.py`:
# the highest threshold within 0.01 of the best F2 (recall weighted twice as much as precision),
# averaged over the generated, seed and social held-out parts (train.tune_negative_threshold).
DEFAULT_NEGATIVE_THRESHOLD: Final = 0.25

# Longer messages are cut: the opening carries the complaint, and a pasted log must not stall
# the classifier thread.
MAX_CHARS: Final = 4000

URL_TOKEN: Final = "xxurl"
USER_TOKEN: Final = "xxuser"

# Official dostoevsky labels folded into our three. speech (greetings, congratulations) and skip
# (unclear) carry no complaint, so they count as neutral.
_LABEL_MAP: Final[dict[str, str]] = {
    "negative": "negative",
    "positive": "positive",
    "neutral": "neutral",
    "speech": "neutral",
    "skip": "neutral",
}
_SCORE_KEYS: Final = ("negative", "neutral", "positive")


class SentimentModelError(SocialtuiError):
    """The sentiment model cannot be used."""


class ModelNotFoundError(SentimentModelError):
    """The model file is not where the configuration says."""


class ModelFormatError(SentimentModelError):
    """The file is not a fastText model with our (or dostoevsky's) labels."""


class Classifier(Protocol):
    def classify(self, texts: Sequence[str]) -> list[Sentiment]: ...


# --- text preparation (shared by training and inference) ----------------------------------

_URL: Final = re.compile(
    r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:ru|рф|com|net|org|su|me|io|by|kz|ua)(?:/\S*)?"
    r"|\b[\w.+-]+@[\w-]+\.[\w.]+",
    re.I,
)
# Cheap test for "might contain a link": the full pattern is slow on every text.
_URL_HINT: Final = re.compile(r"://|www\.|@|\.(?:ru|рф|com|net|org|su|me|io|by|kz|ua)\b")
# Telegram/X handles and VK's «[id123|Имя]» links.
_USER: Final = re.compile(r"\[(?:id|club|public)\d+\|[^\]]*\]|(?<![\w@])@\w{2,}")

_DASHES: Final = "‑–—−-"
_PUNCT: Final = "\\/!#$%&*+,.:;<=>?@^_`|~№…" + _DASHES + "«“‘»”’\"„'([{)]}"
_WORD_ATOM: Final = r"(?:[^\W\d_]+|\d+)"
# Mirrors razdel (the tokenizer dostoevsky's own model was trained with) on ordinary text:
# hyphenated words, decimals, «...», «?!», «:(» stay whole. It deliberately splits emoji from a
# word they touch («спасибо❤️»), where razdel glues them. About nine times faster than razdel.
_TOKEN: Final = re.compile(
    rf"""
    {_WORD_ATOM}(?:[{re.escape(_DASHES)}_]{_WORD_ATOM}|(?<=\d)[.,/\\]\d+)*
    |[=:;][)(]{{1,3}}
    |[.?!…]+
    |-{{2,}}|\*{{2,}}
    |[^\s\w{re.escape(_PUNCT)}]+
    |\S
    """,
    re.X,
)


def tokenize(text: str) -> list[str]:
    """Lowercased tokens with links and handles replaced by placeholder tokens."""
    text = text[:MAX_CHARS].lower()
    if _URL_HINT.search(text):
        text = _URL.sub(f" {URL_TOKEN} ", text)
    if "@" in text or "[" in text:
        text = _USER.sub(f" {USER_TOKEN} ", text)
    return _TOKEN.findall(text)


def prepare(text: str) -> str:
    """The exact line fastText sees for `text`, in training and in prediction."""
    return " ".join(tokenize(text))


class FastTokenizer(BaseTokenizer):  # type: ignore[misc]  # dostoevsky is untyped
    """dostoevsky's tokenizer interface over `tokenize`."""

    def split(self, text: str, lemmatize: bool = False) -> list[tuple[str, str | None]]:
        return [(token, None) for token in tokenize(text)]


def decide(
    scores: dict[str, float], negative_threshold: float = DEFAULT_NEGATIVE_THRESHOLD
) -> Label:
    """Negative on a modest probability, else the likelier of neutral and positive."""
    if scores["negative"] >= negative_threshold:
        return Label.NEGATIVE
    return Label.POSITIVE if scores["positive"] > scores["neutral"] else Label.NEUTRAL


# --- the engine ---------------------------------------------------------------------------


def dostoevsky_model_path() -> Path:
    """Where `python -m dostoevsky download fasttext-social-network-model` puts its model."""
    from dostoevsky.data import DATA_BASE_PATH

    return Path(DATA_BASE_PATH) / "models" / "fasttext-social-network-model.bin"


def _resolve(model: str) -> Path:
    if model == "bundled":
        path = BUNDLED_MODEL_PATH
        hint = "The bundled model is missing: reinstall socialtui or run `python -m triage.train`."
    elif model == "dostoevsky":
        path = dostoevsky_model_path()
        hint = (
            "dostoevsky's model is not installed. On a machine with internet run "
            "`python -m dostoevsky download fasttext-social-network-model`, then copy "
            f"fasttext-social-network-model.bin to {path.parent}/ here."
        )
    else:
        path = Path(model).expanduser()
        hint = 'Set the model to "bundled", "dostoevsky" or the path of a fastText model file.'
    if not path.is_file():
        raise ModelNotFoundError(f"Sentiment model not found: {path}. {hint}")
    return path


def _predict_batch(self: Any, sentences: list[str], k: int = -1) -> list[dict[str, float]]:
    """dostoevsky's `predict` (same input, same output), with one fastText call for the whole
    batch instead of one per text: about half again as fast on short posts."""
    if not sentences:
        return []
    labels, probabilities = self.model.predict(self.preprocess_input(sentences), k=k)
    return [
        dict(zip((label.replace("__label__", "") for label in names), values, strict=True))
        for names, values in zip(labels, probabilities, strict=True)
    ]


def _model_class(path: Path) -> type[Any]:
    # A fresh subclass per file, so dostoevsky's own class keeps pointing at its own model. It
    # keeps dostoevsky's loading and preprocess_input (our tokenizer); only predict is batched.
    return type(
        "SocialtuiFastTextModel",
        (FastTextSocialNetworkModel,),
        {"MODEL_PATH": str(path), "predict": _predict_batch, "__module__": __name__},
    )


class SentimentEngine:
    """Classifies batches of texts; safe to call from any thread, loads the model once."""

    def __init__(
        self, model: str = "bundled", negative_threshold: float = DEFAULT_NEGATIVE_THRESHOLD
    ) -> None:
        if not 0.0 <= negative_threshold <= 1.0:
            raise ValueError("negative_threshold must be within 0..1")
        self.model = model
        self.negative_threshold = negative_threshold
        self._lock = threading.Lock()
        self._model: Any = None

    @property
    def model_path(self) -> Path:
        return _resolve(self.model)

    def load(self) -> None:
        """Load now rather than on the first `classify` (raises SentimentModelError)."""
        if self._model is not None:
            return
        with self._lock:
            if self._model is None:
                self._model = self._load(self.model_path)

    @staticmethod
    def _load(path: Path) -> Any:
        try:
            loaded = _model_class(path)(tokenizer=FastTokenizer())
        except ValueError as error:  # fastText's complaint about a file that is not a model
            raise ModelFormatError(f"{path} is not a fastText model: {error}") from error
        labels = {label.removeprefix("__label__") for label in loaded.model.get_labels()}
        if not {"negative", "positive"} <= labels or not labels <= _LABEL_MAP.keys():
            raise ModelFormatError(
                f"{path} has labels {sorted(labels)}; expected negative, neutral, positive "
                "(and optionally dostoevsky's speech, skip), as __label__NAME."
            )
        return loaded

    def scores(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Probabilities per text, folded to negative/neutral/positive and summing to 1."""
        self.load()
        predictions: list[dict[str, Any]] = self._model.predict(list(texts), k=-1)
        return [_fold(prediction) for prediction in predictions]

    def classify(self, texts: Sequence[str]) -> list[Sentiment]:
        return [
            Sentiment(
                label=decide(scores, self.negative_threshold),
                scores=scores,
                is_question=is_question(text[:MAX_CHARS]),
            )
            for text, scores in zip(texts, self.scores(texts), strict=True)
        ]


def _fold(prediction: dict[str, Any]) -> dict[str, float]:
    folded = dict.fromkeys(_SCORE_KEYS, 0.0)
    for label, probability in prediction.items():
        folded[_LABEL_MAP[label]] += float(probability)
    # fastText's softmax leaves tiny rounding gaps; callers rely on the sum being 1.
    total = math.fsum(folded.values())
    if total <= 0.0:
        return {"negative": 0.0, "neutral": 1.0, "positive": 0.0}
    return {key: value / total for key, value in folded.items()}
