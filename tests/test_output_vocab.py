"""Output-vocabulary trimming (insabot/models/output_vocab.py): the trimmed head's logits, the id mapping, greedy
replies with and without it, training's loss and reply scoring over the kept ids, the kept set's rules, cache and
coverage, and, on the default model, greedy replies to every probe."""

from __future__ import annotations

import copy
import itertools

import pytest
import torch
from tolerance import assert_sums_close

from insabot.chat import build_conversation, system_prompt_for
from insabot.config import GenerationConfig, ModelConfig
from insabot.finetune.conversations import load_corpus
from insabot.finetune.loss import kept_rows, reference_token_losses, supervised_loss_sum
from insabot.finetune.packing import collate, pack
from insabot.finetune.render import IGNORE, render
from insabot.generation import end_token_ids, generate_batch, generate_token_ids
from insabot.models import output_vocab
from insabot.models.output_vocab import (
    TrimmedHead,
    kept_positions,
    trim_output_head,
    trims,
    writable,
)

GREEDY = GenerationConfig(max_new_tokens=12, do_sample=False)  # the eval's greedy, repetition penalty on
MESSAGES = ("야 뭐해", "오늘 날씨 미쳤다 ㅋㅋ 우산 챙겨", "점심 뭐 먹지?")


def conversations() -> list[list[dict[str, str]]]:
    return [build_conversation(text, [], system_prompt_for("banmal")) for text in MESSAGES]


def random_kept(vocab_size: int, also: set[int], count: int = 3000, seed: int = 0) -> list[int]:
    drawn = torch.randperm(vocab_size, generator=torch.Generator().manual_seed(seed))[:count]
    return sorted(also.union(drawn.tolist()))


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("ㅋㅋㅋ", True),
        (" 인싸", True),
        ("\n\n", True),
        ("...", True),
        (" ;;", True),
        ("🔥", True),
        ("👍🏻", True),  # skin-tone modifier
        ("👨\u200d👩\u200d👧", True),  # zero-width-joined emoji
        ("\ufffd", True),  # a byte piece
        ("a", True),
        (" 2024", True),
        (" hello", False),  # English words come from the corpus, not the rules
        ("漢字", False),
        ("カフェ", False),
        ("<unused0>", False),
    ],
)
def test_writable_tokens_are_korean_chat_text(text, kept):
    assert writable(text) is kept


def test_the_id_mapping_round_trips():
    kept = torch.tensor([3, 8, 9, 40, 1000])
    assert kept_positions(kept, kept).tolist() == [0, 1, 2, 3, 4]
    assert kept[kept_positions(kept, torch.tensor([40, 3, 1000]))].tolist() == [40, 3, 1000]
    assert kept_positions(kept, torch.tensor([0, 4, 41, 5000])).tolist() == [-1, -1, -1, -1]


def test_trimmed_head_logits_equal_the_full_heads_on_kept_ids(tiny):
    model, _ = tiny
    head = model.get_output_embeddings()
    kept = random_kept(head.out_features, set())
    trimmed = TrimmedHead(head, kept)
    hidden = torch.randn(2, 5, head.in_features, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        full, narrow, wide = head(hidden), trimmed.kept_logits(hidden), trimmed(hidden)
    assert_sums_close(narrow, full[..., kept], reduction_size=head.in_features)
    assert torch.equal(wide[..., kept], narrow)
    dropped = torch.ones(head.out_features, dtype=torch.bool)
    dropped[kept] = False
    assert torch.isneginf(wide[..., dropped]).all()
    # the wide logits' best id is the kept id of the narrow logits' best column: the tokenizer reads full ids
    assert torch.equal(wide.argmax(-1), trimmed.kept_ids[narrow.argmax(-1)])
    with pytest.raises(ValueError, match="bias-free linear"):
        TrimmedHead(torch.nn.Linear(4, 10), [1, 2])


def test_greedy_replies_agree_until_the_full_model_chooses_a_dropped_token(smol_tokenizer):
    """Kept ids holding every choice of the full model: the same greedy replies, token for token and as text.
    One of its choices dropped: the replies agree up to the first step that chose it, and there the trimmed
    model takes a kept token instead."""
    from tiny_models import tiny_llama

    model, tokenizer = tiny_llama(smol_tokenizer)
    prompts = conversations()
    full_ids = generate_token_ids(model, tokenizer, prompts, GREEDY)
    full_texts = generate_batch(model, tokenizer, prompts, GREEDY)
    chosen = {token for row in full_ids for token in row}
    kept = random_kept(len(tokenizer), chosen | set(end_token_ids(tokenizer, model)))

    trimmed = copy.deepcopy(model)
    trim_output_head(trimmed, kept)
    assert generate_token_ids(trimmed, tokenizer, prompts, GREEDY) == full_ids
    assert generate_batch(trimmed, tokenizer, prompts, GREEDY) == full_texts

    dropped = full_ids[0][0]
    trim_output_head(trimmed := copy.deepcopy(model), [token for token in kept if token != dropped])
    for full, ours in zip(full_ids, generate_token_ids(trimmed, tokenizer, prompts, GREEDY), strict=True):
        first = full.index(dropped) if dropped in full else len(full)
        assert ours[:first] == full[:first]
        if first < len(full):
            assert ours[first] != dropped and ours[first] in kept


def supervised_batch(tokenizer):
    examples = [render(tokenizer, c.messages, 512, c.source) for c in load_corpus()[:3]]
    return collate(pack(examples, 512, packing=False), 0)  # one per row: the reference needs no reset


def kept_reference_loss(model, batch, kept: list[int]) -> torch.Tensor:
    """Cross-entropy of the full logits restricted to the kept columns."""
    logits = model(input_ids=batch["input_ids"], use_cache=False).logits[:, :-1, kept]
    targets = batch["labels"][:, 1:]
    columns = torch.where(targets == IGNORE, IGNORE, kept_positions(torch.tensor(kept), targets))
    return torch.nn.functional.cross_entropy(
        logits.float().transpose(1, 2), columns, reduction="sum", ignore_index=IGNORE
    )


def test_training_loss_over_kept_ids_with_a_frozen_head(smol_tokenizer):
    from peft import LoraConfig, get_peft_model
    from tiny_models import tiny_llama

    model = get_peft_model(
        tiny_llama(smol_tokenizer)[0],
        LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM"),
    )
    batch = supervised_batch(smol_tokenizer)
    kept = random_kept(len(smol_tokenizer), set(batch["labels"][batch["labels"] != IGNORE].tolist()))
    lora = [p for p in model.parameters() if p.requires_grad]
    loss_sum, count = supervised_loss_sum(model, batch, torch.tensor(kept))
    reference = kept_reference_loss(model.get_base_model(), batch, kept)
    assert_sums_close(loss_sum, reference, reduction_size=count)
    for ours, theirs in zip(
        torch.autograd.grad(loss_sum, lora), torch.autograd.grad(reference, lora), strict=True
    ):
        assert_sums_close(ours, theirs, reduction_size=count)
    too_few = torch.tensor(kept[: len(kept) // 2])
    with pytest.raises(ValueError, match="outside the trimmed output vocabulary"):
        supervised_loss_sum(model, batch, too_few)


def test_training_loss_over_kept_ids_trains_gemmas_end_of_turn_rows(smol_tokenizer):
    """The Gemma recipe's head: PEFT's trainable token rows on a tied embedding. The kept rows are PEFT's own
    merged weight's, and the loss and the gradients of the LoRA and of the token rows are the full-logits ones."""
    from peft import LoraConfig, get_peft_model
    from tiny_models import tiny_gemma3

    end_of_turn = smol_tokenizer.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>"])  # as Gemma's recipe
    model = get_peft_model(
        tiny_gemma3(smol_tokenizer),
        LoraConfig(
            r=4,
            target_modules="all-linear",
            init_lora_weights=False,
            task_type="CAUSAL_LM",
            trainable_token_indices=end_of_turn,
        ),
    )
    with torch.no_grad():  # trained rows that differ from the frozen ones
        for name, parameter in model.named_parameters():
            if "trainable_tokens_delta" in name:
                parameter.add_(torch.randn_like(parameter))
    batch = supervised_batch(smol_tokenizer)
    supervised = set(batch["labels"][batch["labels"] != IGNORE].tolist())
    kept = [token for token in random_kept(len(smol_tokenizer), supervised) if token != end_of_turn[0]]
    assert end_of_turn[1] in kept  # a trained row inside the kept set, and one outside it
    head = model.get_base_model().get_output_embeddings()
    merged = head.token_adapter.get_merged_weights(head.token_adapter.active_adapters)
    assert torch.equal(kept_rows(head, torch.tensor(kept)), merged[kept])

    trainable = [p for p in model.parameters() if p.requires_grad]
    loss_sum, count = supervised_loss_sum(model, batch, torch.tensor(kept))
    reference = kept_reference_loss(model.get_base_model(), batch, kept)
    assert_sums_close(loss_sum, reference, reduction_size=count)
    ours, theirs = torch.autograd.grad(loss_sum, trainable), torch.autograd.grad(reference, trainable)
    for mine, expected in zip(ours, theirs, strict=True):
        assert_sums_close(mine, expected, reduction_size=count)


def test_full_fine_tuning_keeps_the_kept_rows_of_its_trainable_token_head(smol_tokenizer):
    """train.method=full puts PEFT's trainable tokens straight on the tied head (no LoRA wrapper around them): the
    kept rows are still its merged weight's, and the loss over them trains the blocks and the token rows."""
    from tiny_models import tiny_gemma3

    from finetune.train import full_blocks

    end_of_turn = smol_tokenizer.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>"])
    model = full_blocks(tiny_gemma3(smol_tokenizer), end_of_turn)
    head = model.get_base_model().get_output_embeddings()
    batch = supervised_batch(smol_tokenizer)
    kept = random_kept(
        len(smol_tokenizer), set(batch["labels"][batch["labels"] != IGNORE].tolist()) | {*end_of_turn}
    )
    merged = head.get_merged_weights(head.active_adapters)
    assert torch.equal(kept_rows(head, torch.tensor(kept)), merged[kept])
    loss_sum, _ = supervised_loss_sum(model, batch, torch.tensor(kept))
    loss_sum.backward()
    trained = [name for name, p in model.named_parameters() if p.requires_grad and p.grad is not None]
    assert any("trainable_tokens_delta" in name for name in trained) and any(
        "layers.0" in name for name in trained
    )


def test_reply_scores_normalise_over_kept_ids_and_fall_back_to_the_full_head(tiny, smol_tokenizer):
    """A reply whose tokens are all kept scores as the trimmed model's plain forward pass does (softmax over the
    kept ids); a token outside the kept set is scored by the full head instead of −inf."""
    from insabot.likelihood import mean_log_likelihoods, split_tokens

    model, tokenizer = tiny
    context = conversations()[1]
    replies = ["ㅋㅋ 비 온다며", "우산 없음 ㅠㅠ 그냥 뛰어감"]
    pieces = [split_tokens(tokenizer, context, reply) for reply in replies]
    needed = {token for prompt, reply in pieces for token in prompt + reply}
    kept = random_kept(len(tokenizer), needed)
    trimmed = copy.deepcopy(model)
    trim_output_head(trimmed, kept)

    def reference(scored_by, prompt, reply):
        ids = torch.tensor([prompt + reply])
        labels = torch.tensor([[IGNORE] * len(prompt) + reply])
        with torch.no_grad():
            return -reference_token_losses(scored_by, ids, labels)

    # each token's log-probability: attention over the sequence, then a dot product over the hidden size
    reduction = max(len(prompt) + len(reply) for prompt, reply in pieces) + model.config.hidden_size
    scores = mean_log_likelihoods(trimmed, tokenizer, context, replies)
    expected = torch.stack([reference(trimmed, *piece).mean() for piece in pieces])
    assert_sums_close(torch.tensor(scores), expected, reduction)

    outside = pieces[1][1][2]  # a token of the second reply, taken out of the kept set
    trim_output_head(trimmed := copy.deepcopy(model), [token for token in kept if token != outside])
    score = mean_log_likelihoods(trimmed, tokenizer, context, replies[1:])[0]
    prompt, reply = pieces[1]
    by_kept, by_full = reference(trimmed, prompt, reply), reference(model, prompt, reply)
    mixed = torch.where(torch.tensor(reply) == outside, by_full, by_kept)
    assert torch.isinf(by_kept).any() and not torch.isinf(mixed).any()
    assert_sums_close(torch.tensor([score]), mixed.mean()[None], reduction)


def test_load_trims_as_configured(tiny_dir, tiny_loaded, smol_tokenizer):
    from tiny_models import tiny_gemma3

    from insabot.models.describe import describe
    from insabot.models.loading import load

    assert not isinstance(tiny_loaded.model.get_output_embeddings(), TrimmedHead)  # auto: full for Llama
    gemma = tiny_gemma3(smol_tokenizer, layers=2)
    assert trims("auto", gemma) and trims("trimmed", gemma) and not trims("full", gemma)
    loaded = load(ModelConfig(base_model=str(tiny_dir), output_vocab="trimmed"), device="cpu")
    head = loaded.model.get_output_embeddings()
    assert isinstance(head, TrimmedHead)
    assert set(end_token_ids(loaded.tokenizer, loaded.model)) <= set(head.kept_ids.tolist())
    facts = describe(loaded)
    assert (
        facts["output_tokens"]
        == len(head.kept_ids)
        < facts["vocab_size"]
        == describe(tiny_loaded)["output_tokens"]
    )
    assert (
        facts["parameters"] == describe(tiny_loaded)["parameters"]
    )  # the kept rows are a copy, not parameters


def test_the_kept_set_is_built_once_per_tokenizer_and_texts(smol_tokenizer, tmp_path, monkeypatch):
    monkeypatch.setenv("INSABOT_HOME", str(tmp_path))
    builds = []
    monkeypatch.setattr(output_vocab, "build_kept_set", lambda tokenizer, texts: builds.append(1) or [5, 7])
    assert output_vocab.kept_token_ids(smol_tokenizer) == [5, 7]
    assert output_vocab.kept_token_ids(smol_tokenizer) == [5, 7]
    assert len(builds) == 1 and len(list((tmp_path / "models" / "output-vocab").iterdir())) == 1
    monkeypatch.setattr(output_vocab, "KEPT_SET_RULES", output_vocab.KEPT_SET_RULES + 1)
    output_vocab.kept_token_ids(smol_tokenizer)
    assert len(builds) == 2


# ------------------------------------------------------------------------------------------- the real model

FRESH = [  # written for this test: in no corpus, probe or message set
    "어제 넷플에서 본 다큐 진짜 소름 돋았어 ㅠㅠ",
    "퇴근하고 헬스장 갈까 말까 고민 중…",
    "주말에 부산 가는데 돼지국밥 맛집 추천 좀!!",
    "아 배터리 3% 남았어 ㅋㅋㅋ 충전기 없음",
    "시험 망쳤다.. 교수님이 범위 밖에서 냈음 🙃",
    "회의 2시로 미뤄졌대요. 자료는 메일로 보낼게요~",
    "ENFP라서 그런가 계획 짜는 거 너무 힘들어",
    "오늘 OOTD 어때? 새로 산 Nike 운동화 신었어 ㅎㅎ",
    "버스 놓쳐서 택시 탔는데 요금 18,000원 나옴;;",
    "생일 선물로 에어팟 받았다 개이득 😎",
]


@pytest.fixture(scope="module")
def gemma_tokenizer():
    from transformers import AutoTokenizer

    from insabot.models.loading import resolve

    return AutoTokenizer.from_pretrained(resolve("gemma3-270m").location)


@pytest.mark.real_model
def test_gemmas_kept_set_covers_text_it_was_not_built_from(gemma_tokenizer):
    from insabot.eval.real_messages import load_real_messages

    kept = set(
        output_vocab.build_kept_set(gemma_tokenizer, output_vocab.chat_conversations(real_split="dev"))
    )
    assert 8_000 < len(kept) < 20_000  # of 262,144
    template = gemma_tokenizer.convert_tokens_to_ids(["<bos>", "<start_of_turn>", "<end_of_turn>"])
    assert set(template) <= kept
    held_out = output_vocab.coverage(gemma_tokenizer, kept, [m.text for m in load_real_messages("test")])
    fresh = output_vocab.coverage(gemma_tokenizer, kept, FRESH)
    print(
        f"kept {len(kept)} tokens; coverage: real-style test half {held_out:.4f}, fresh sentences {fresh:.4f}"
    )
    assert held_out >= 0.99 and fresh >= 0.95


@pytest.mark.real_model
def test_greedy_replies_to_every_probe_are_unchanged_by_trimming():
    """The default model, greedy as the eval runs it but 32 new tokens (the test takes minutes as it is): a reply
    that differs with the head trimmed differs from the first step where the full model chose a token outside the
    kept set, and nowhere earlier. Measured: none of 333 differs (~5 min on 2 idle cores); before the kept set took
    each text token's spacing twin, probe-0290 did, where the full model wrote " KT" for the message's "KTX"."""
    import dataclasses

    from insabot.config import default_model
    from insabot.eval.harness import load_probes
    from insabot.models.loading import load

    # fp32: on a bf16 CPU `auto` would pick bf16, whose GEMM blocking may differ with the head's width
    loaded = load(
        dataclasses.replace(default_model(), output_vocab="full", dtype="float32", weights="native"),
        device="cpu",
    )
    model, tokenizer = loaded.model, loaded.tokenizer
    # batched by length: like prompts pad less
    probes = sorted(load_probes(), key=lambda p: sum(len(m["content"]) for m in p.messages))
    prompts = [
        build_conversation(p.messages[-1]["content"], p.messages[:-1], system_prompt_for(p.tone))
        for p in probes
    ]
    gen = GenerationConfig(max_new_tokens=32, do_sample=False)

    def replies() -> list[list[int]]:
        batches = [prompts[i : i + 16] for i in range(0, len(prompts), 16)]
        return [row for batch in batches for row in generate_token_ids(model, tokenizer, batch, gen)]

    full = replies()
    kept = set(output_vocab.output_vocab_ids(tokenizer, model))
    trim_output_head(model, kept)
    trimmed = replies()
    differ = {}
    for probe, ours, theirs in zip(probes, trimmed, full, strict=True):
        if ours != theirs:
            first = next(i for i, (a, b) in enumerate(itertools.zip_longest(ours, theirs)) if a != b)
            differ[probe.id] = theirs[first]
    chose_outside = sum(any(token not in kept for token in row) for row in full)
    print(
        f"{len(differ)} of {len(probes)} greedy replies differ; the full model chose a token outside the kept set "
        f"in {chose_outside}; its choice where they part: {[(i, tokenizer.decode([t])) for i, t in differ.items()]}"
    )
    assert all(token is not None and token not in kept for token in differ.values())
