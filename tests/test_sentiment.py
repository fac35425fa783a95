from __future__ import annotations

import importlib.util
import math
import sys
import threading
from pathlib import Path

import pytest
from dostoevsky.data import DATA_BASE_PATH
from dostoevsky.models import FastTextSocialNetworkModel
from razdel import tokenize as razdel_tokenize

from triage import sentiment
from triage.errors import SocialtuiError
from triage.model import Label
from triage.sentiment import (
    BUNDLED_MODEL_PATH,
    ModelFormatError,
    ModelNotFoundError,
    SentimentEngine,
    decide,
    tokenize,
)
from triage.train import TrainingSet, TrainSettings, train_model
from triage.training_data import (
    DATA_DIR,
    GENERATED_PATH,
    HANDWRITTEN_PATH,
    SEED_PATH,
    SOCIAL_GLOB,
    SOCIAL_LABELS,
    DataError,
    Example,
    customer_care,
    is_held_out,
    read_labelled_tsv,
    social_posts,
    split_held_out,
)

TINY = TrainSettings(epoch=100, lr=0.5, dim=8, bucket=1000, minn=0, maxn=0, in_domain_weight=1)


def _tiny_model(path: Path, labels: dict[str, list[str]]) -> Path:
    examples = [Example(label, text, "test") for label, texts in labels.items() for text in texts]
    return train_model(out=path, settings=TINY, examples=TrainingSet(examples, []))


@pytest.fixture(scope="module")
def engine() -> SentimentEngine:
    return SentimentEngine()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_model(
        tmp_path_factory.mktemp("model") / "tiny.bin",
        {
            "negative": ["ужасно плохо", "плохо и долго", "ужас"],
            "neutral": ["заказ номер пять", "адрес доставки", "номер"],
            "positive": ["спасибо отлично", "отлично вкусно", "спасибо"],
        },
    )


# --- the engine's contract ----------------------------------------------------------------


def test_bundled_model_is_shipped_and_small() -> None:
    assert BUNDLED_MODEL_PATH.is_file()
    assert BUNDLED_MODEL_PATH.stat().st_size <= 25 * 1024 * 1024


def test_classify_returns_one_well_formed_sentiment_per_text(engine: SentimentEngine) -> None:
    texts = [
        "Заказ 5521 получен",
        "",
        "   \n\t ",
        "🔥🔥🔥",
        "😡",
        "Очень длинное сообщение. " * 5000,
        "строка\nвторая строка\tс табуляцией",
        "https://vk.com/wall-1_2 @shop_bot [id1|Иван]",
    ]
    results = engine.classify(texts)
    assert len(results) == len(texts)
    for result in results:
        assert isinstance(result.label, Label)
        assert set(result.scores) == {"negative", "neutral", "positive"}
        assert all(0.0 <= value <= 1.0 for value in result.scores.values())
        assert math.isclose(sum(result.scores.values()), 1.0, abs_tol=1e-6)


def test_batch_order_is_preserved(engine: SentimentEngine) -> None:
    texts = [
        "Спасибо огромное, всё очень вкусно!",
        "Где мой заказ?",
        "Ужасный сервис, верните деньги",
    ]
    batch = engine.classify(texts)
    assert batch == [engine.classify([text])[0] for text in texts]
    assert engine.classify(list(reversed(texts))) == list(reversed(batch))


def test_empty_batch(engine: SentimentEngine) -> None:
    assert engine.classify([]) == []


@pytest.mark.parametrize(
    "text",
    [
        "Ужасный сервис, третий день жду заказ, верните деньги",
        "Отвратительно, больше никогда у вас не закажу",
        "Опять списали деньги за подписку, которую я отменил. Верните деньги!",
    ],
)
def test_unambiguous_complaints_are_negative(engine: SentimentEngine, text: str) -> None:
    assert engine.classify([text])[0].label is Label.NEGATIVE


@pytest.mark.parametrize(
    "text",
    ["Спасибо огромное, всё очень вкусно!", "Лучший кофе в городе, спасибо вам огромное ❤️"],
)
def test_unambiguous_praise_is_positive(engine: SentimentEngine, text: str) -> None:
    assert engine.classify([text])[0].label is Label.POSITIVE


def test_questions_are_flagged(engine: SentimentEngine) -> None:
    question, statement = engine.classify(["Подскажите, до скольки вы работаете", "Заказ получен"])
    assert question.is_question
    assert not statement.is_question


def test_engine_goes_through_dostoevskys_model_class(engine: SentimentEngine) -> None:
    engine.load()
    assert isinstance(engine._model, FastTextSocialNetworkModel)
    model_path: str = engine._model.MODEL_PATH
    assert model_path == str(BUNDLED_MODEL_PATH)
    # The subclass carries our path; dostoevsky's own class is left pointing at its model.
    assert FastTextSocialNetworkModel.MODEL_PATH.endswith("fasttext-social-network-model.bin")


def test_model_loads_once_across_threads(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loads = []
    real_load = SentimentEngine._load

    def counting_load(path: Path) -> object:
        loads.append(path)
        return real_load(path)

    monkeypatch.setattr(SentimentEngine, "_load", staticmethod(counting_load))
    shared = SentimentEngine(str(tiny_model))
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(len(shared.classify(["спасибо"] * 50))))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [50] * 8
    assert len(loads) == 1


# --- choosing a model -----------------------------------------------------------------------


def test_a_path_model_works(tiny_model: Path) -> None:
    results = SentimentEngine(str(tiny_model)).classify(["ужас", "спасибо", "номер"])
    assert [r.label for r in results] == [Label.NEGATIVE, Label.POSITIVE, Label.NEUTRAL]


def test_dostoevsky_five_labels_fold_into_three(tmp_path: Path) -> None:
    path = _tiny_model(
        tmp_path / "five.bin",
        {
            "negative": ["плохо", "ужас"],
            "neutral": ["адрес"],
            "positive": ["отлично"],
            "speech": ["с днем рождения"],
            "skip": ["ааа"],
        },
    )
    (scores,) = SentimentEngine(str(path)).scores(["с днем рождения"])
    assert set(scores) == {"negative", "neutral", "positive"}
    assert math.isclose(sum(scores.values()), 1.0, abs_tol=1e-6)
    assert scores["neutral"] > 0.5


def test_dostoevsky_path_is_its_official_download_location() -> None:
    expected = Path(DATA_BASE_PATH) / "models" / "fasttext-social-network-model.bin"
    assert sentiment.dostoevsky_model_path() == expected


def test_missing_dostoevsky_model_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "models" / "fasttext-social-network-model.bin"
    monkeypatch.setattr(sentiment, "dostoevsky_model_path", lambda: missing)
    with pytest.raises(ModelNotFoundError, match="python -m dostoevsky download") as raised:
        SentimentEngine("dostoevsky").classify(["привет"])
    assert isinstance(raised.value, SocialtuiError)


def test_missing_path_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="not found"):
        SentimentEngine(str(tmp_path / "nope.bin")).load()


def test_a_file_that_is_not_a_model_is_rejected(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a fasttext model")
    with pytest.raises(ModelFormatError):
        SentimentEngine(str(junk)).load()


def test_a_model_with_foreign_labels_is_rejected(tmp_path: Path) -> None:
    path = _tiny_model(tmp_path / "toxic.bin", {"toxic": ["дурак"], "ok": ["привет"]})
    with pytest.raises(ModelFormatError, match="labels"):
        SentimentEngine(str(path)).load()


def test_thresholds_are_validated() -> None:
    with pytest.raises(ValueError):
        SentimentEngine(negative_threshold=1.5)


# --- decision rule and text preparation ---------------------------------------------------


def test_decision_rule() -> None:
    calm = {"negative": 0.10, "neutral": 0.60, "positive": 0.30}
    assert decide(calm, negative_threshold=0.2) is Label.NEUTRAL
    assert decide(calm, negative_threshold=0.1) is Label.NEGATIVE
    warm = {"negative": 0.19, "neutral": 0.30, "positive": 0.51}
    assert decide(warm, negative_threshold=0.2) is Label.POSITIVE
    # Recall first: a complaint wins although another label is likelier.
    assert decide({"negative": 0.3, "neutral": 0.1, "positive": 0.6}, 0.2) is Label.NEGATIVE


@pytest.mark.parametrize(
    "text",
    [
        "Привет!!! Как дела???",
        "Ну-ка, 1.5 кг за 300 рублей... ок?!",
        "Спасибо)))) :( всё супер",
        "«Цитата» (в скобках) — и что-то ещё, по-моему, т.е. нормально",
        "Заказ №5521 от 2024-01-01, сумма 1 500,50 р.",
    ],
)
def test_tokenizer_matches_razdel_on_ordinary_text(text: str) -> None:
    assert tokenize(text) == [token.text.lower() for token in razdel_tokenize(text)]


def test_tokenizer_replaces_links_and_handles_and_keeps_emoji() -> None:
    tokens = tokenize("Смотри https://vk.com/x?a=1 и @shop_bot, [id12|Иван] спасибо❤️🔥")
    assert tokens == ["смотри", "xxurl", "и", "xxuser", ",", "xxuser", "спасибо", "❤️🔥"]


# --- the customer-care corpus -----------------------------------------------------------------


def _key(text: str) -> str:
    return " ".join(text.lower().replace("ё", "е").split())


def test_customer_care_corpus_is_well_formed() -> None:
    seed = read_labelled_tsv(SEED_PATH)
    generated = read_labelled_tsv(GENERATED_PATH)
    handwritten = read_labelled_tsv(HANDWRITTEN_PATH)
    assert len(seed) == 600 and len(generated) >= 4000 and len(handwritten) >= 300
    for examples in (seed, generated, handwritten):
        assert {e.label for e in examples} == {"negative", "neutral", "positive"}
        assert all(e.is_question is not None for e in examples)
        assert any(e.is_question for e in examples)
    every = [_key(e.text) for e in seed + generated + handwritten]
    assert len(set(every)) == len(every)


def test_held_out_messages_are_never_trained_on() -> None:
    corpus = customer_care()
    trained = {_key(e.text) for e in corpus.train}
    assert not trained & {_key(e.text) for e in corpus.held_out + corpus.handwritten}
    assert {e.source for e in corpus.held_out} == {"seed", "generated"}
    assert all(is_held_out(e.text) for e in corpus.held_out)
    assert 0.2 < len(corpus.held_out) / (len(corpus.held_out) + len(corpus.train)) < 0.3
    # The split depends on the text alone, not on the order of the files.
    train, held_out = split_held_out(reversed(corpus.train + corpus.held_out))
    assert (train[::-1], held_out[::-1]) == (corpus.train, corpus.held_out)


def test_social_posts_are_well_formed_and_split_like_the_customer_care_corpus() -> None:
    files = sorted(DATA_DIR.glob(SOCIAL_GLOB))
    assert len(files) >= 3
    raw = [e for path in files for e in read_labelled_tsv(path, "social", SOCIAL_LABELS)]
    assert {e.label for e in raw} == set(SOCIAL_LABELS)
    train, held_out = social_posts()
    # speech (greetings, congratulations) is folded into neutral, as the engine folds it.
    assert {e.label for e in train + held_out} == {"negative", "neutral", "positive"}
    congratulations = next(e for e in raw if e.label == "speech")
    assert any(e.text == congratulations.text and e.label == "neutral" for e in train + held_out)
    trained = [_key(e.text) for e in train]
    assert len(set(trained)) == len(trained)
    assert not set(trained) & {_key(e.text) for e in held_out}
    assert all(is_held_out(e.text) for e in held_out)
    assert 0.2 < len(held_out) / len(train + held_out) < 0.3
    # No post doubles as a customer-care message, where it might carry another label.
    customer = customer_care()
    every_customer = customer.train + customer.held_out + customer.handwritten
    assert not {_key(e.text) for e in every_customer} & set(trained)


def test_training_and_evaluation_use_the_two_sides_of_the_social_split() -> None:
    from triage.train import base_training_set, evaluation_sets

    train, held_out = social_posts()
    assert base_training_set(require_corpora=False).social == train
    assert evaluation_sets(Path("/nonexistent"))["social posts: held-out"] == held_out


def test_generated_corpus_is_what_its_generator_writes() -> None:
    script = GENERATED_PATH.parent / "generate_corpus.py"
    spec = importlib.util.spec_from_file_location("generate_corpus", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    hand_written = [
        e.text for e in read_labelled_tsv(SEED_PATH) + read_labelled_tsv(HANDWRITTEN_PATH)
    ]
    messages = module.generate(module.DEFAULT_COUNT, module.DEFAULT_SEED, hand_written)
    lines = [f"{m.label}\t{int(m.is_question)}\t{m.text}" for m in messages]
    assert lines == GENERATED_PATH.read_text(encoding="utf-8").splitlines()


def test_labelled_files_take_both_formats_and_reject_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "extra.tsv"
    path.write_text("negative\tопять холодный кофе\nneutral\t1\tвы открыты?\n\n", encoding="utf-8")
    assert read_labelled_tsv(path) == [
        Example("negative", "опять холодный кофе", "extra", None),
        Example("neutral", "вы открыты?", "extra", True),
    ]
    path.write_text("negative\tопять\n\nangry\tужас\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"extra\.tsv:3"):
        read_labelled_tsv(path)
