"""Loading masked and causal LMs (and refusing what cannot be probed), training tokenizers for
every script of the shipped probes, and building tiny models of every architecture reproducibly."""

from __future__ import annotations

import polars as pl
import pytest
import torch
from safetensors.torch import load_file
from transformers import BertConfig, BertModel, LlamaModel, T5Config, T5ForConditionalGeneration

from conftest import CAUSAL_ARCHITECTURES, compiled_probes, shipped_texts
from valuetrace import models, training
from valuetrace.corpus import balanced_probe_corpus
from valuetrace.errors import InputError
from valuetrace.kinds import kind_of_config
from valuetrace.models import ARCHITECTURES, build_model, load_model, tiny_model, train_tokenizer
from valuetrace.probes import LANGUAGE_NAMES
from valuetrace.settings import ModelBuild
from valuetrace.training import train_language_model

TINY = dict(hidden_size=32, layers=1, heads=2, intermediate_size=64)


# --- loading ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("architecture", "model_class", "mask"),
    [("xlm-roberta", "XLMRobertaForMaskedLM", "<mask>"), ("bert", "BertForMaskedLM", "[MASK]")],
)
def test_load_model_loads_a_saved_model_in_eval_mode(tiny_model_dirs, architecture, model_class, mask):
    model, tokenizer = load_model(str(tiny_model_dirs[architecture]), "cpu")
    assert type(model).__name__ == model_class
    assert not model.training
    assert model.device.type == "cpu"
    assert tokenizer.mask_token == mask
    assert tokenizer.convert_tokens_to_ids(mask) == tokenizer.mask_token_id < model.config.vocab_size
    assert len(tokenizer) == model.config.vocab_size


@pytest.mark.parametrize(
    ("architecture", "model_class", "start"),
    [("gpt2", "GPT2LMHeadModel", "<|endoftext|>"), ("llama", "LlamaForCausalLM", "<s>")],
)
def test_load_model_loads_a_causal_lm_with_a_padding_token(tiny_model_dirs, architecture, model_class, start):
    model, tokenizer = load_model(str(tiny_model_dirs[architecture]), "cpu")
    assert type(model).__name__ == model_class and not model.training
    assert tokenizer.mask_token is None
    # Neither tokenizer has a padding token of its own: batches are padded with the end token.
    assert tokenizer.pad_token == tokenizer.eos_token and tokenizer.padding_side == "right"
    first = tokenizer.convert_ids_to_tokens(tokenizer("Family is important.")["input_ids"])[0]
    # Llama's tokenizer puts <s> in front; GPT-2's adds nothing (valuetrace.kinds does).
    assert (first == start) == (architecture == "llama")


def test_refuses_a_model_type_with_neither_head(tmp_path):
    path = tmp_path / "tiny-t5"
    config = T5Config(d_model=16, d_ff=32, num_layers=1, num_heads=2, d_kv=8, vocab_size=64)
    T5ForConditionalGeneration(config).save_pretrained(path)
    with pytest.raises(InputError) as error:
        load_model(str(path))
    message = str(error.value)
    assert str(path) in message and "'t5'" in message and "neither a masked-LM nor a causal-LM" in message
    assert "\n" not in message


def test_refuses_a_llama_checkpoint_saved_without_its_lm_head(tmp_path, tiny_model_dirs):
    path = tmp_path / "llama-decoder-only"
    model, tokenizer = load_model(str(tiny_model_dirs["llama"]))
    LlamaModel(model.config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    with pytest.raises(InputError) as error:
        load_model(str(path))
    message = str(error.value)
    assert str(path) in message and "no trained causal-LM (next-token) head" in message and "lm_head.weight" in message


def bert_tokenizer():
    return train_tokenizer(shipped_texts()[:200], "bert", 300)


def test_refuses_a_bert_checkpoint_saved_without_its_mlm_head(tmp_path):
    path = tmp_path / "bert-encoder-only"
    tokenizer = bert_tokenizer()
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    with pytest.raises(InputError) as error:
        load_model(str(path))
    message = str(error.value)
    assert str(path) in message and "no trained masked-LM head" in message and "cls.predictions" in message


def test_refuses_a_path_that_does_not_exist(tmp_path):
    path = tmp_path / "models" / "never-built"
    with pytest.raises(InputError) as error:
        load_model(str(path))
    message = str(error.value)
    assert str(path) in message and "no such local directory" in message
    assert "\n" not in message


def tiny_bert():
    tokenizer = bert_tokenizer()
    return tiny_model("bert", tokenizer, **TINY, max_length=32, seed=0), tokenizer


def test_refuses_a_directory_without_weights(tmp_path):
    path = tmp_path / "config-only"
    model, tokenizer = tiny_bert()
    model.config.save_pretrained(path)
    tokenizer.save_pretrained(path)
    with pytest.raises(InputError, match="cannot load its weights") as error:
        load_model(str(path))
    assert str(path) in str(error.value)


def test_refuses_a_directory_without_tokenizer(tmp_path):
    # transformers would quietly build an empty tokenizer that reads every word as [UNK].
    path = tmp_path / "weights-only"
    model, _ = tiny_bert()
    model.save_pretrained(path)
    with pytest.raises(InputError, match="no tokenizer files") as error:
        load_model(str(path))
    assert str(path) in str(error.value)


# --- tokenizers ---------------------------------------------------------------------------

NON_LATIN = {
    "bn": "Bengali", "el": "Greek", "ko": "Hangul", "fa": "Arabic (Persian)", "ur": "Arabic (Urdu)", "sr": "Cyrillic",
}  # fmt: skip


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_tokenizer_handles_every_script_of_the_shipped_probes(architecture):
    tokenizer = train_tokenizer(shipped_texts(), architecture, 1500)
    unknown = tokenizer.unk_token_id
    corpus = balanced_probe_corpus(compiled_probes(tuple(sorted(LANGUAGE_NAMES))), 1, seed=0)
    assert set(NON_LATIN) <= set(corpus["lang"])
    failures = []
    for lang, text in corpus.select("lang", "text").iter_rows():
        words = text.split()
        # Words of known characters in an order never seen are spelled out, not [UNK] either.
        unseen = " ".join(word[::-1] for word in words)
        for sample in (text, unseen):
            ids = tokenizer(sample, add_special_tokens=False)["input_ids"]
            if unknown in ids or not ids:
                failures.append((lang, sample, tokenizer.convert_ids_to_tokens(ids)))
    assert not failures, f"{len(failures)} texts hit the unknown token, e.g. {failures[:3]}"
    for lang in NON_LATIN:
        text = corpus.filter(corpus["lang"] == lang)["text"][0]
        # Tokens of the script itself, not only single characters (or bytes) everywhere.
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        pieces = [tokenizer.decode([token]).strip().removeprefix("##") for token in ids]
        assert any(len(piece) > 1 for piece in pieces), (lang, pieces)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_tokenizer_training_is_reproducible(architecture):
    texts = shipped_texts()
    first, second = (train_tokenizer(texts, architecture, 1500) for _ in range(2))
    assert first.get_vocab() == second.get_vocab()
    assert first(texts[:50])["input_ids"] == second(texts[:50])["input_ids"]


def test_unknown_architecture_is_refused():
    with pytest.raises(InputError, match="'t5' is not one of"):
        train_tokenizer(["a b c"], "t5", 100)


def test_architectures_are_the_names_the_config_schema_allows():
    from valuetrace.settings import schema

    build = schema()["properties"]["models"]["additionalProperties"]["properties"]["build"]
    assert build["properties"]["architecture"]["enum"] == list(ARCHITECTURES)


# --- building -----------------------------------------------------------------------------


def build(out, architecture, seed, texts):
    settings = ModelBuild(
        architecture=architecture, vocab_size=400, **TINY, max_length=32,
        steps=20, batch_size=8, learning_rate=1e-3, mask_options=False, output_layer="architecture", seed=seed,
    )  # fmt: skip
    build_model(texts, out, settings)


@pytest.fixture(scope="module")
def build_texts() -> list[str]:
    probes = compiled_probes(("en", "bn", "ko"))
    return balanced_probe_corpus(probes, 1, seed=0)["text"].to_list()


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_output_layer_is_tied_or_untied_as_asked_and_stays_so_when_loaded(tmp_path, architecture, build_texts):
    """build.output_layer: the architecture's own choice (Llama's untied, the others tied), tied
    or untied; an untied output layer is saved and loaded as weights of its own."""
    tokenizer = train_tokenizer(build_texts, architecture, 400)
    shared = {}
    for choice in models.OUTPUT_LAYERS:
        model = tiny_model(architecture, tokenizer, **TINY, max_length=32, seed=0, output_layer=choice)
        shared[choice] = model.get_output_embeddings().weight is model.get_input_embeddings().weight
    assert shared == {"architecture": architecture != "llama", "tied": True, "untied": False}
    model.save_pretrained(tmp_path / "untied")
    loaded = models.load_weights(str(tmp_path / "untied"))
    assert loaded.get_output_embeddings().weight is not loaded.get_input_embeddings().weight
    torch.testing.assert_close(loaded.get_output_embeddings().weight, model.get_output_embeddings().weight)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_build_model_is_loadable_complete_and_reproducible(tmp_path, architecture, build_texts):
    first, second = tmp_path / "first", tmp_path / "second"
    build(first, architecture, 1, build_texts)
    build(second, architecture, 1, build_texts)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first", "second"]  # no .partial left

    model, tokenizer = load_model(str(first))
    assert model.config.model_type == architecture and tokenizer.model_max_length == 32
    weights, again = load_file(first / "model.safetensors"), load_file(second / "model.safetensors")
    assert weights.keys() == again.keys()
    assert all(torch.equal(weights[key], again[key]) for key in weights)
    assert load_model(str(second))[1].get_vocab() == tokenizer.get_vocab()
    # Training ran: the saved weights are not the initial ones.
    initial = tiny_model(architecture, tokenizer, **TINY, max_length=32, seed=1).state_dict()
    assert any(not torch.equal(initial[key], value) for key, value in model.state_dict().items() if key in initial)


def test_a_failed_build_keeps_the_previous_model_and_leaves_nothing_behind(tmp_path, monkeypatch, build_texts):
    out = tmp_path / "model"
    out.mkdir()
    (out / "marker").write_text("previous build")

    def crash(*args, output_dir, **kwargs):
        (output_dir / "checkpoint-1").mkdir(parents=True)  # a crash halfway through training
        raise RuntimeError("out of memory")

    monkeypatch.setattr(training, "train_language_model", crash)
    with pytest.raises(RuntimeError, match="out of memory"):
        build(out, "bert", 0, build_texts)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert (out / "marker").read_text() == "previous build"


def test_build_model_refuses_an_empty_corpus(tmp_path):
    with pytest.raises(InputError, match="empty"):
        build(tmp_path / "model", "bert", 0, [])
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("architecture", ["bert", *CAUSAL_ARCHITECTURES])
def test_training_truncates_to_the_positions_the_tokenizer_declares(tmp_path, architecture):
    """A causal LM's start token counts among the positions too (GPT-2's tokenizer adds none of its own)."""
    tokenizer = train_tokenizer(shipped_texts()[:200], architecture, 400)
    tokenizer.model_max_length = 16
    model = tiny_model(architecture, tokenizer, **TINY, max_length=16, seed=0)
    kind_of_config(model.config, architecture).check_tokenizer(tokenizer, architecture)
    long_text = " ".join(shipped_texts()[:20])
    assert len(tokenizer(long_text)["input_ids"]) > 16
    before = {key: value.clone() for key, value in model.state_dict().items()}
    train_language_model(
        model, tokenizer, [long_text] * 8, output_dir=tmp_path / "trainer", steps=2, batch_size=4,
        learning_rate=1e-3, max_length=128, seed=0, mlm_probability=0.15,
    )  # fmt: skip
    assert not model.training
    assert any(not torch.equal(before[key], value) for key, value in model.state_dict().items())


def test_a_build_with_mask_options_learns_each_questions_own_answer(tmp_path):
    """Five questions in one frame, option A in different shares of their statements: always
    masking the option (mask_options) makes the model's scores follow the shares, so it reads
    the topic, not just the frame."""
    from valuetrace.scoring import score_probes

    shares = {"Family": 0.9, "Politics": 0.5, "Work": 0.7, "Religion": 0.2, "God": 0.8}
    probes = pl.DataFrame([{"probe_lang": "en", "probe_id": topic, "question_id": topic, "sentence": f"{topic} is [MASK] in my life.",
                            "option_a": "important", "option_b": "unimportant", "probe_set": "wvs"} for topic in shares])  # fmt: skip
    texts, spans = [], []
    for topic, share in shares.items():
        for index in range(20):
            option = "important" if index < 20 * share else "unimportant"
            texts.append(f"{topic} is {option} in my life.")
            spans.append((len(f"{topic} is "), len(f"{topic} is {option}")))
    settings = ModelBuild(architecture="bert", vocab_size=200, hidden_size=64, layers=2, heads=2, intermediate_size=128,
                          max_length=16, steps=200, batch_size=16, learning_rate=0.003, mask_options=True, output_layer="architecture", seed=0)  # fmt: skip
    build_model(texts, tmp_path / "model", settings, spans)
    model, tokenizer = load_model(str(tmp_path / "model"))
    scores = score_probes(model, tokenizer, probes, model_name="m", method="joint", normalisation="none", batch_size=8, max_length=16)
    by_topic = dict(zip(scores["probe_id"], scores["raw_score"]))
    assert sorted(shares, key=shares.get) == sorted(by_topic, key=by_topic.get), by_topic
    with pytest.raises(InputError, match="build.mask_options is set but no option spans were given"):
        build_model(texts, tmp_path / "other", settings)
