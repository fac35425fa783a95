"""Train the bundled sentiment model: `python -m triage.train [--data DIR] [--out PATH] ...`.

Learns from the permissively licensed corpora (CEDR, RuSentNE-2023, ru-goemotions), the training
part of the project's customer-care seed set, and any extra `label<TAB>text` files (operator
corrections). It then reports figures on the held-out seed messages, CEDR's test split and, for
evaluation only, RuSentiment's test split. With `thread=1` and a fixed seed the output is the
same file every time.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from triage.errors import SocialtuiError
from triage.model import Label
from triage.sentiment import (
    BUNDLED_MODEL_PATH,
    DEFAULT_CUE_THRESHOLD,
    DEFAULT_NEGATIVE_THRESHOLD,
    Classifier,
    SentimentEngine,
    decide,
    has_complaint_cue,
    prepare,
)
from triage.training_data import (
    LABELS,
    SEED_PATH,
    DataError,
    Example,
    default_data_dir,
    read_cedr,
    read_labelled_tsv,
    read_rusentiment,
    seed_split,
    training_corpora,
)

__all__ = [
    "Evaluation",
    "TrainSettings",
    "TrainingFailed",
    "TrainingSet",
    "evaluate",
    "evaluate_all",
    "main",
    "negative_curve",
    "train_model",
    "training_examples",
]


class TrainingFailed(DataError):
    """fastText kept failing (NaN) after every retry."""


@dataclass(frozen=True, slots=True)
class TrainSettings:
    # Chosen by 4-fold cross-validation on the seed training split: longer training (15 epochs,
    # lr 0.4) made the model surer of itself and worse at catching complaints.
    epoch: int = 10
    lr: float = 0.3
    word_ngrams: int = 2
    minn: int = 2
    maxn: int = 5
    dim: int = 50
    bucket: int = 200_000
    # Customer-care lines (seed and extras) are few next to the corpora but are what the model
    # is for, so each is repeated this many times in the training file.
    in_domain_weight: int = 8
    # Quantised .ftz: keep the most useful `cutoff` rows of the input matrix.
    cutoff: int = 100_000
    attempts: int = 4


@dataclass(frozen=True, slots=True)
class Evaluation:
    name: str
    count: int
    accuracy: float
    macro_f1: float
    # Mean F1 of the negative and positive classes: SentiRuEval's measure.
    f1_pn: float
    negative_precision: float
    negative_recall: float
    per_label: dict[str, tuple[float, float, float]] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"{self.name:<22} n={self.count:<5} macro-F1 {self.macro_f1:.3f}  F1pn {self.f1_pn:.3f}"
            f"  neg P {self.negative_precision:.3f} R {self.negative_recall:.3f}"
            f"  acc {self.accuracy:.3f}"
        )


@dataclass(frozen=True, slots=True)
class TrainingSet:
    # Public corpora: many texts, but news, blogs and translated Reddit rather than customers.
    general: list[Example]
    # Customer-care seed (train split) and operator corrections: what the model is for.
    in_domain: list[Example]


def training_examples(data_dir: Path, extra: Sequence[Path] = ()) -> TrainingSet:
    """Everything the model learns from. The held-out seed split is not in it."""
    general = [example for corpus in training_corpora(data_dir).values() for example in corpus]
    in_domain, _ = seed_split(read_labelled_tsv(SEED_PATH, "seed"))
    for path in extra:
        in_domain += read_labelled_tsv(path)
    return TrainingSet(general, in_domain)


def _write_training_file(
    path: Path, examples: TrainingSet, seed: int, in_domain_weight: int
) -> int:
    lines = [f"__label__{e.label} {prepare(e.text)}" for e in examples.general]
    for example in examples.in_domain:
        lines += [f"__label__{example.label} {prepare(example.text)}"] * in_domain_weight
    # fastText reads the file in order; shuffle so no corpus comes last and dominates.
    random.Random(seed).shuffle(lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def _fit(train_file: Path, settings: TrainSettings, seed: int) -> Any:
    import fasttext

    lr = settings.lr
    for attempt in range(1, settings.attempts + 1):
        try:
            return fasttext.train_supervised(
                input=str(train_file),
                epoch=settings.epoch,
                lr=lr,
                wordNgrams=settings.word_ngrams,
                minn=settings.minn,
                maxn=settings.maxn,
                dim=settings.dim,
                bucket=settings.bucket,
                loss="softmax",
                seed=seed,
                thread=1,
                verbose=0,
            )
        except RuntimeError as error:
            if "NaN" not in str(error) or attempt == settings.attempts:
                raise TrainingFailed(f"fastText training failed at lr {lr:.3f}: {error}") from error
            # Seen with larger corpora at lr 0.3 (sentiment-notes.md): a smaller step converges.
            lr *= 0.6
            print(f"fastText hit NaN; retrying with lr {lr:.3f}", file=sys.stderr)
    raise AssertionError("unreachable")


def train_model(
    data_dir: Path | None = None,
    out: Path = BUNDLED_MODEL_PATH,
    seed: int = 1,
    extra: Sequence[Path] = (),
    settings: TrainSettings | None = None,
    examples: TrainingSet | None = None,
) -> Path:
    """Train and atomically write a model to `out` (quantised when it ends in .ftz)."""
    settings = settings or TrainSettings()
    if examples is None:
        examples = training_examples(data_dir or default_data_dir(), extra)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="socialtui-train-") as workdir:
        train_file = Path(workdir) / "train.txt"
        _write_training_file(train_file, examples, seed, settings.in_domain_weight)
        model = _fit(train_file, settings, seed)
        if out.suffix == ".ftz":
            model.quantize(input=None, qnorm=True, retrain=False, cutoff=settings.cutoff)
        # Same directory as the target, so the rename is atomic and never leaves half a model.
        handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
        os.close(handle)
        try:
            model.save_model(temporary)
            # mkstemp makes the file private; a shipped model must be readable by everyone.
            os.chmod(temporary, 0o644)
            os.replace(temporary, out)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return out


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def evaluate(name: str, classifier: Classifier, examples: Sequence[Example]) -> Evaluation:
    """Scores `classifier`'s labels (its full decision rule, cues included) against `examples`."""
    predicted = [s.label.value for s in classifier.classify([e.text for e in examples])]
    gold = [e.label for e in examples]
    per_label = {}
    for label in LABELS:
        true_positive = sum(p == g == label for p, g in zip(predicted, gold, strict=True))
        precision = _ratio(true_positive, predicted.count(label))
        recall = _ratio(true_positive, gold.count(label))
        per_label[label] = (precision, recall, _ratio(2 * precision * recall, precision + recall))
    return Evaluation(
        name=name,
        count=len(examples),
        accuracy=_ratio(sum(p == g for p, g in zip(predicted, gold, strict=True)), len(gold)),
        macro_f1=sum(f1 for _, _, f1 in per_label.values()) / len(LABELS),
        f1_pn=(per_label["negative"][2] + per_label["positive"][2]) / 2,
        negative_precision=per_label["negative"][0],
        negative_recall=per_label["negative"][1],
        per_label=per_label,
    )


def evaluation_sets(data_dir: Path) -> dict[str, list[Example]]:
    """Held-out seed messages, CEDR test and (if present, evaluation only) RuSentiment test."""
    _, held_out = seed_split(read_labelled_tsv(SEED_PATH, "seed"))
    sets = {"seed held-out": held_out, "CEDR test": read_cedr(data_dir, "test")}
    rusentiment = read_rusentiment(data_dir)
    if rusentiment is not None:
        sets["RuSentiment test"] = rusentiment
    return sets


def evaluate_all(
    model: Path | str,
    data_dir: Path | None = None,
    negative_threshold: float = DEFAULT_NEGATIVE_THRESHOLD,
    cue_threshold: float = DEFAULT_CUE_THRESHOLD,
) -> list[Evaluation]:
    engine = SentimentEngine(str(model), negative_threshold, cue_threshold=cue_threshold)
    sets = evaluation_sets(data_dir or default_data_dir())
    return [evaluate(name, engine, examples) for name, examples in sets.items()]


def negative_curve(
    model: Path | str,
    examples: Sequence[Example],
    thresholds: Sequence[float] = (0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6),
    cue_threshold: float = DEFAULT_CUE_THRESHOLD,
) -> list[tuple[float, float, float]]:
    """(threshold, negative precision, negative recall) for each negative threshold."""
    engine = SentimentEngine(str(model))
    scores = engine.scores([example.text for example in examples])
    cues = [has_complaint_cue(example.text) for example in examples]
    curve = []
    for threshold in thresholds:
        flagged = [
            decide(score, cue, threshold, min(cue_threshold, threshold)) is Label.NEGATIVE
            for score, cue in zip(scores, cues, strict=True)
        ]
        hits = sum(f and e.label == "negative" for f, e in zip(flagged, examples, strict=True))
        negatives = sum(example.label == "negative" for example in examples)
        curve.append((threshold, _ratio(hits, sum(flagged)), _ratio(hits, negatives)))
    return curve


def _parser() -> argparse.ArgumentParser:
    defaults = TrainSettings()
    parser = argparse.ArgumentParser(prog="python -m triage.train", description=__doc__)
    parser.add_argument(
        "--data", type=Path, help="corpora folder (default $SOCIALTUI_DATA or ../shared/data)"
    )
    parser.add_argument(
        "--out", type=Path, default=BUNDLED_MODEL_PATH, help="model file (.ftz = quantised)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--extra", type=Path, nargs="*", default=[], metavar="TSV", help="label<TAB>text files"
    )
    parser.add_argument("--epoch", type=int, default=defaults.epoch)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--dim", type=int, default=defaults.dim)
    parser.add_argument("--bucket", type=int, default=defaults.bucket)
    parser.add_argument("--in-domain-weight", type=int, default=defaults.in_domain_weight)
    parser.add_argument("--evaluate-only", action="store_true", help="score --out, train nothing")
    parser.add_argument("--negative-threshold", type=float, default=DEFAULT_NEGATIVE_THRESHOLD)
    parser.add_argument("--cue-threshold", type=float, default=DEFAULT_CUE_THRESHOLD)
    return parser


def _describe(examples: TrainingSet) -> str:
    counts: dict[str, dict[str, int]] = {}
    for example in examples.general + examples.in_domain:
        per_label = counts.setdefault(example.source, dict.fromkeys(LABELS, 0))
        per_label[example.label] += 1
    return "\n".join(
        f"  {source:<16} " + "  ".join(f"{label} {n:>5}" for label, n in per_label.items())
        for source, per_label in counts.items()
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    data_dir = args.data or default_data_dir()
    settings = TrainSettings(
        epoch=args.epoch,
        lr=args.lr,
        dim=args.dim,
        bucket=args.bucket,
        in_domain_weight=args.in_domain_weight,
    )
    try:
        if not args.evaluate_only:
            examples = training_examples(data_dir, args.extra)
            print(f"training data (in-domain lines x{settings.in_domain_weight}):")
            print(_describe(examples))
            out = train_model(data_dir, args.out, args.seed, settings=settings, examples=examples)
            size = out.stat().st_size / 1e6
            print(f"wrote {out} ({size:.1f} MB); {asdict(settings)}, seed {args.seed}")
        print(
            f"decision: negative if P(neg) >= {args.negative_threshold}, "
            f"or >= {args.cue_threshold} with a complaint cue"
        )
        for evaluation in evaluate_all(
            args.out, data_dir, args.negative_threshold, args.cue_threshold
        ):
            print(evaluation.line())
        held_out = evaluation_sets(data_dir)["seed held-out"]
        print("seed held-out, negative threshold -> precision / recall:")
        for threshold, precision, recall in negative_curve(args.out, held_out):
            print(f"  {threshold:.2f}  P {precision:.3f}  R {recall:.3f}")
    except SocialtuiError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
