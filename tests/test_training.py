"""The fine-tune recipe on a tiny random Llama: masks, packing, loss, training, resume, export."""

import itertools
import json

import pytest
import torch
from tolerance import assert_sums_close

import insabot.finetune.train as train_module
from insabot.config import load_config
from insabot.finetune.attention import PACKED_ATTENTION, use_packed_attention
from insabot.finetune.conversations import load_corpus
from insabot.finetune.loss import reference_token_losses, supervised_loss_sum
from insabot.finetune.packing import collate, pack
from insabot.finetune.render import IGNORE, Example, render
from insabot.finetune.splits import assign_splits

CONVERSATION = [
    {"role": "system", "content": "반말로 답해."},
    {"role": "user", "content": "야 이거 어때?"},
    {"role": "assistant", "content": "완전 좋아 ㅋㅋ"},
    {"role": "user", "content": "ㄱㄱ"},
    {"role": "assistant", "content": "가자"},
]


def test_the_end_of_turn_text_is_found_once_per_tokenizer(smol_tokenizer, monkeypatch):
    import insabot.finetune.render as render_module

    calls = []
    find = render_module._find_end_of_turn_text
    monkeypatch.setattr(render_module, "_END_OF_TURN", type(render_module._END_OF_TURN)())
    monkeypatch.setattr(render_module, "_find_end_of_turn_text", lambda t: calls.append(t) or find(t))
    examples = [render(smol_tokenizer, CONVERSATION, 1000) for _ in range(5)]
    assert len(calls) == 1
    assert examples[0] == examples[4]


def test_labels_cover_exactly_the_assistant_replies_and_end_of_turn(smol_tokenizer):
    example = render(smol_tokenizer, CONVERSATION, 1000)
    runs, current = [], None
    for token, label in zip(example.input_ids, example.labels, strict=True):
        supervised = label != IGNORE
        if supervised != current:
            runs.append((supervised, []))
            current = supervised
        runs[-1][1].append(token)
        assert label in (IGNORE, token)
    decoded = [(supervised, smol_tokenizer.decode(tokens)) for supervised, tokens in runs]
    assert decoded == [
        (
            False,
            "<|im_start|>system\n반말로 답해.<|im_end|>\n<|im_start|>user\n야 이거 어때?<|im_end|>\n<|im_start|>assistant\n",
        ),
        (True, "완전 좋아 ㅋㅋ<|im_end|>"),
        (False, "\n<|im_start|>user\nㄱㄱ<|im_end|>\n<|im_start|>assistant\n"),
        (True, "가자<|im_end|>"),
        (False, "\n"),
    ]


def test_truncation_is_flagged(smol_tokenizer):
    example = render(smol_tokenizer, CONVERSATION, 20)
    assert example.truncated and len(example.input_ids) == 20


def test_supervised_loss_matches_the_full_logits_loss(tiny, smol_tokenizer):
    model, _ = tiny
    example = render(smol_tokenizer, CONVERSATION, 1000)
    batch = collate(pack([example], 1000), 0)
    loss_sum, count = supervised_loss_sum(model, batch)
    reference = reference_token_losses(model, batch["input_ids"], batch["labels"])
    assert count == reference.numel() == example.supervised - (example.labels[0] != IGNORE)
    assert_sums_close(loss_sum, reference.sum(), reduction_size=count)


@pytest.mark.parametrize("softcap", [None, 5.0])
def test_frozen_head_cross_entropy_matches_autograd_across_chunks(softcap):
    from insabot.finetune.loss import FrozenHeadCrossEntropy

    torch.manual_seed(0)
    hidden = torch.randn(600, 32, requires_grad=True)  # 600 rows: two whole chunks and a partial one
    weight = torch.randn(1000, 32)
    targets = torch.randint(0, 1000, (600,))
    fused = FrozenHeadCrossEntropy.apply(hidden, weight, targets, softcap)
    (fused * 2).backward()
    fused_grad, hidden.grad = hidden.grad, None
    logits = hidden @ weight.T
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    reference = torch.nn.functional.cross_entropy(logits, targets, reduction="sum")
    (reference * 2).backward()
    assert_sums_close(fused, reference, reduction_size=len(targets))  # a sum over rows
    assert_sums_close(fused_grad, hidden.grad, reduction_size=len(weight))  # (softmax - onehot) @ weight


def test_lora_gradients_through_the_fused_head_match_the_full_logits_loss(smol_tokenizer, monkeypatch):
    from peft import LoraConfig, get_peft_model
    from tiny_models import tiny_llama

    from insabot.finetune.loss import FrozenHeadCrossEntropy

    model = get_peft_model(
        tiny_llama(smol_tokenizer)[0],
        LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM"),
    )
    examples = [render(smol_tokenizer, c.messages, 512, c.source) for c in load_corpus()[:3]]
    batch = collate(pack(examples, 512, packing=False), 0)  # one per row: the reference needs no reset
    assert int((batch["labels"] != IGNORE).sum()) > FrozenHeadCrossEntropy.CHUNK
    lora = [p for p in model.parameters() if p.requires_grad]
    calls = []
    fused_apply = FrozenHeadCrossEntropy.apply
    monkeypatch.setattr(FrozenHeadCrossEntropy, "apply", lambda *a: calls.append(1) or fused_apply(*a))
    loss_sum, _ = supervised_loss_sum(model, batch)
    assert calls  # the frozen head took the fused path
    fused = torch.autograd.grad(loss_sum, lora)
    reference = reference_token_losses(model, batch["input_ids"], batch["labels"]).sum()
    supervised = int((batch["labels"] != IGNORE).sum())
    assert_sums_close(loss_sum, reference, reduction_size=supervised)
    for ours, theirs in zip(torch.autograd.grad(reference, lora), fused, strict=True):
        assert_sums_close(theirs, ours, reduction_size=supervised)  # each LoRA gradient sums over tokens


def _example(size: int) -> Example:
    return Example(input_ids=[size] * size, labels=[IGNORE] * size, source=f"len{size}")


def test_best_fit_decreasing_packing_fills_sequences_and_keeps_every_conversation():
    examples = [_example(size) for size in (3, 6, 2, 5, 4)]
    packed = pack(examples, 10)
    # in-order greedy would need three sequences: [3, 6], [2, 5], [4]
    assert [[row.input_ids[i] for i in _starts(row)] for row in packed] == [[6, 4], [5, 3, 2]]
    assert sorted(len(e.input_ids) for row in packed for e in _split(row)) == [2, 3, 4, 5, 6]
    assert all(row.position_ids[start] == 0 for row in packed for start in _starts(row))
    # a conversation longer than the budget (only when rendering did not truncate) gets its own sequence
    assert [len(row) for row in pack([_example(12), _example(3)], 10)] == [12, 3]
    # without packing: one sequence per conversation, input order kept
    assert [len(row) for row in pack(examples, 10, packing=False)] == [3, 6, 2, 5, 4]


def _starts(row) -> list[int]:
    return [i for i, position in enumerate(row.position_ids) if position == 0]


def _split(row) -> list[Example]:
    bounds = [*_starts(row), len(row)]
    return [_example(end - start) for start, end in itertools.pairwise(bounds)]


def test_epoch_batches_are_a_reproducible_shuffle_of_all_conversations(tiny_dir, tiny_data, tmp_path):
    config = tiny_config(tiny_dir, tiny_data, tmp_path / "run")  # batch_size 2, max_seq_len 512
    examples = [_example(size) for size in range(100, 500, 10)]  # distinct sizes: one best-fit packing
    epoch0 = train_module.batches_for_epoch(examples, config, 0)
    assert epoch0 == train_module.batches_for_epoch(examples, config, 0)  # what resume relies on
    assert epoch0 != train_module.batches_for_epoch(examples, config, 1)
    # packed: each micro-batch is one padding-free row of up to batch_size x max_seq_len tokens
    assert all(len(batch) == 1 and len(batch[0]) <= 2 * 512 for batch in epoch0)
    rows = [batch[0].input_ids for batch in epoch0]
    best_fit = [row.input_ids for row in pack(examples, 2 * 512)]
    assert sorted(rows) == sorted(best_fit) and len(rows) > 5
    assert rows != best_fit  # shuffled, not handed out longest conversation first
    # unpacked: batch_size conversations per micro-batch
    config.data.packing = False
    unpacked = train_module.batches_for_epoch(examples, config, 0)
    assert [len(batch) for batch in unpacked] == [2] * 20
    assert all(row.conversations == 1 for batch in unpacked for row in batch)


@pytest.mark.parametrize("attention", ["sdpa", PACKED_ATTENTION])
@pytest.mark.parametrize("architecture", ["llama", "gemma3"])
def test_packing_keeps_conversations_apart(smol_tokenizer, architecture, attention):
    """Per-token losses of a packed batch equal those of each conversation run alone (on Gemma 3 too,
    whose sliding-window layers must not see across conversations either), with transformers' own
    block-diagonal mask and with the recipe's per-conversation attention."""
    from tiny_models import tiny_gemma3, tiny_llama

    model = tiny_llama(smol_tokenizer)[0] if architecture == "llama" else tiny_gemma3(smol_tokenizer)
    if attention == PACKED_ATTENTION:
        use_packed_attention(model)
    corpus = load_corpus()[:6]
    examples = [render(smol_tokenizer, c.messages, 512, c.source) for c in corpus]
    packed = pack(examples, 4096)
    assert len(packed) == 1 and packed[0].conversations == 6
    batch = collate(packed, 0)
    with torch.no_grad():
        loss_sum, count = supervised_loss_sum(model, batch)
        alone = [
            reference_token_losses(model, torch.tensor([e.input_ids]), torch.tensor([e.labels]))
            for e in examples
        ]
    alone_sum = sum(float(t.sum()) for t in alone)
    assert count == sum(t.numel() for t in alone)
    assert abs(float(loss_sum) - alone_sum) < 0.05
    # and without the position-id reset the conversations would leak into each other
    leaky = dict(batch, position_ids=torch.arange(batch["input_ids"].shape[1])[None])
    with torch.no_grad():
        assert abs(float(supervised_loss_sum(model, leaky)[0]) - alone_sum) > 0.5


def test_packed_attention_equals_transformers_mask_on_a_batch(smol_tokenizer):
    """Rows of one and of several conversations with padding tails, Gemma 3's grouped-query and
    sliding-window layers (window 16 < the conversations): the same logits as the mask path.
    (use_cache=False as in training: with a cache transformers builds a plain causal mask.)"""
    from tiny_models import tiny_gemma3

    model = tiny_gemma3(smol_tokenizer)
    examples = [render(smol_tokenizer, c.messages, 512, c.source) for c in load_corpus()[6:14]]
    sequences = pack(examples, 900)
    assert len(sequences) >= 2 and max(s.conversations for s in sequences) >= 2
    batch = {k: v for k, v in collate(sequences, 0).items() if k != "labels"}
    with torch.no_grad():
        masked = model(**batch, use_cache=False).logits
        use_packed_attention(model)
        per_conversation = model(**batch, use_cache=False).logits
    assert_sums_close(per_conversation, masked, reduction_size=batch["input_ids"].shape[1])  # keys per row


def test_splits_are_deterministic_stratified_and_disjoint():
    corpus = load_corpus()
    first, second = assign_splits(corpus), assign_splits(list(reversed(corpus)))
    assert {c.id for c in first["test"]} == {c.id for c in second["test"]}
    ids = [{c.id for c in first[name]} for name in ("train", "validation", "test")]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert sum(map(len, ids)) == len(corpus)
    categories = {c.category for c in corpus}
    assert {c.category for c in first["test"]} == categories
    assert {c.tone for c in first["test"]} == {"banmal", "jondaetmal"}


@pytest.fixture
def tiny_data(tmp_path):
    path = tmp_path / "chats.jsonl"
    rows = load_corpus()[:40]
    path.write_text(
        "".join(
            json.dumps(
                {"id": c.id, "category": c.category, "tone": c.tone, "messages": c.messages},
                ensure_ascii=False,
            )
            + "\n"
            for c in rows
        ),
        encoding="utf-8",
    )
    return path


def tiny_config(tiny_dir, data, out, **train):
    overrides = [
        f"model.base_model={tiny_dir}",
        f"data.path={data}",
        "data.max_seq_len=512",
        f"train.output_dir={out}",
        "train.batch_size=2",
        "train.lr=0.01",
        "train.warmup_ratio=0",
        "train.log_every=2",
        "train.eval_every=4",
        "train.save_every=4",
        "train.precision=fp32",
        "lora.dropout=0.0",
    ] + [f"train.{k}={v}" for k, v in train.items()]
    return load_config(None, overrides)


@pytest.mark.parametrize("output_vocab", ["full", "trimmed"])
def test_training_lowers_the_loss_and_writes_the_run(tiny_dir, tiny_data, tmp_path, output_vocab):
    config = tiny_config(tiny_dir, tiny_data, tmp_path / "run", max_steps=12)
    config.model.output_vocab = (
        output_vocab  # trimmed: the loss over the kept ids (tests/test_output_vocab.py)
    )
    run = train_module.train(config, progress=False)
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [m["loss"] for m in metrics if "loss" in m]
    evals = [m["eval_loss"] for m in metrics if "eval_loss" in m]
    assert losses[-1] < losses[0] - 0.5
    assert evals[-1] < evals[0]
    assert {
        "config.yaml",
        "metrics.jsonl",
        "loss.png",
        "README.md",
        "data.json",
        "adapter",
        "checkpoints",
    } <= {p.name for p in run.iterdir()}
    assert (run / "adapter" / "adapter_model.safetensors").is_file()
    assert (run / "adapter" / "chat_template.jinja").is_file()
    assert "validation loss" in (run / "README.md").read_text()
    with pytest.raises(train_module.TrainError, match="already holds a run"):
        train_module.train(tiny_config(tiny_dir, tiny_data, run, max_steps=12), progress=False)


def test_each_evaluation_records_reply_selection_on_validation_turns(
    tiny_dir, tiny_data, tmp_path, monkeypatch
):
    calls = []

    def scores(model, tokenizer, conversations, limit):
        calls.append((model.training, len(conversations), limit))
        return {"hits_at_1": 0.25, "mrr": 0.5, "turns": limit}

    monkeypatch.setattr(train_module, "selection_scores", scores)
    config = tiny_config(tiny_dir, tiny_data, tmp_path / "run", max_steps=8, selection_turns=5)
    run = train_module.train(config, progress=False)
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [m for m in metrics if "eval_loss" in m]
    assert [(m["val_hits_at_1"], m["val_mrr"]) for m in evals] == [(0.25, 0.5), (0.25, 0.5)]
    assert calls and all(not training and limit == 5 for training, _, limit in calls)  # dropout off
    assert "hits@1 0.25, MRR 0.5" in (run / "README.md").read_text()


def test_validation_selection_ranks_true_replies_with_the_model(tiny):
    model, tokenizer = tiny
    validation = assign_splits(load_corpus(), frozen=train_module.load_frozen())["validation"]
    data = train_module.TrainData([], [], 0, 0, validation)
    implementation, training = model.config._attn_implementation, model.training
    use_packed_attention(model)  # as in a training run: selection's KV cache needs plain SDPA for a while
    model.train()
    try:
        scores = train_module.validation_selection(
            model, tokenizer, data, turns=6, autocast=None, device="cpu"
        )
        assert model.config._attn_implementation == PACKED_ATTENTION and model.training  # back to training
    finally:
        model.set_attn_implementation(implementation)
        model.train(training)
    assert set(scores) == {"val_hits_at_1", "val_mrr"}
    assert 0 <= scores["val_hits_at_1"] <= 1 and 0.1 <= scores["val_mrr"] <= 1


SHAPES = {
    "messages": [
        {
            "messages": [
                {"role": "user", "content": "점메추 좀"},
                {"role": "assistant", "content": "국밥 ㄱㄱ"},
            ]
        },
        {
            "tone": "존댓말",
            "messages": [
                {"role": "user", "content": "주말에 뭐 해요?"},
                {"role": "assistant", "content": "집에서 쉬어요"},
            ],
        },
    ],
    "sharegpt": [
        {
            "conversations": [
                {"from": "human", "value": "성수 어디 가?"},
                {"from": "gpt", "value": "어니언 가자 ㅋㅋ"},
            ]
        },
    ],
    "alpaca": [
        {"instruction": "존댓말로 바꿔줘", "input": "밥 먹었어?", "output": "식사하셨어요?"},
        {"instruction": "요즘 유행하는 밈 알려줘", "output": "럭키비키 아직 쓰더라 ㅋㅋ"},
    ],
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_training_reads_every_documented_shape(tiny_dir, tmp_path, shape):
    """No id, category or tone needed: the same loader as `insabot data check`."""
    data = tmp_path / f"{shape}.jsonl"
    data.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in SHAPES[shape]), encoding="utf-8"
    )
    run = train_module.train(tiny_config(tiny_dir, data, tmp_path / "run", max_steps=1), progress=False)
    assert json.loads((run / "data.json").read_text())["train_conversations"] == len(SHAPES[shape])
    assert (run / "adapter" / "adapter_model.safetensors").is_file()


def test_training_reads_the_web_chats_export(tiny_dir, tmp_path):
    from insabot.bot.ui import WebChat
    from insabot.config import Config

    history = [
        {"role": "user", "content": [{"type": "text", "text": "내일 비 온대요?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "네, 우산 챙기세요 ☔"}]},
    ]
    exported = WebChat(pool=None, config=Config()).export_history(history, "jondaetmal", "")
    (conversation,) = train_module.load_conversations(load_config(None, [f"data.path={exported}"]))
    assert conversation.tone == "jondaetmal"
    assert [m["content"] for m in conversation.messages[1:]] == ["내일 비 온대요?", "네, 우산 챙기세요 ☔"]
    run = train_module.train(tiny_config(tiny_dir, exported, tmp_path / "run", max_steps=1), progress=False)
    assert json.loads((run / "data.json").read_text())["train_conversations"] == 1
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [sorted(m) for m in metrics] == [
        sorted(["step", "epoch", "loss", "lr", "tokens_per_s", "supervised_tokens_per_s"])
    ]


def test_train_stops_at_a_bad_row_before_loading_the_model(tmp_path, capsys):
    from insabot.cli import main

    data = tmp_path / "chats.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "ㅎㅇ"}]}\n', encoding="utf-8")
    out = tmp_path / "run"
    args = ["train", "--set", f"data.path={data}", "--set", f"train.output_dir={out}"]
    assert main([*args, "--set", "model.base_model=/nowhere/model"]) == 2
    assert (
        capsys.readouterr().err
        == f"insabot: error: {data}:1: the conversation must end with an assistant turn\n"
    )
    data.write_text("\n", encoding="utf-8")
    assert main(args) == 2
    assert capsys.readouterr().err == f"insabot: error: no conversations in {data}\n"
    assert not out.exists()


def test_resume_after_a_kill_matches_an_uninterrupted_run(tiny_dir, tiny_data, tmp_path, monkeypatch):
    straight = train_module.train(
        tiny_config(tiny_dir, tiny_data, tmp_path / "a", max_steps=10), progress=False
    )

    real_save = train_module.save_checkpoint

    def save_then_die(run_dir, model, optimizer, scheduler, state, keep):
        if state["step"] == 8:
            raise KeyboardInterrupt  # killed after logging steps 6 and 8, before the step-8 checkpoint
        real_save(run_dir, model, optimizer, scheduler, state, keep)

    monkeypatch.setattr(train_module, "save_checkpoint", save_then_die)
    config = tiny_config(tiny_dir, tiny_data, tmp_path / "b", max_steps=10)
    with pytest.raises(KeyboardInterrupt):
        train_module.train(config, progress=False)
    monkeypatch.setattr(train_module, "save_checkpoint", real_save)
    resumed = train_module.train(config, resume=True, progress=False)

    def logged_steps(run):
        return [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]

    assert logged_steps(resumed) == logged_steps(
        straight
    )  # steps 6 and 8 once, as the resumed run logged them
    from safetensors.torch import load_file

    a = load_file(straight / "adapter" / "adapter_model.safetensors")
    b = load_file(resumed / "adapter" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-5, rtol=1e-4)


def test_a_warm_start_begins_from_the_saved_adapter_and_refuses_one_that_does_not_fit(
    tiny_dir, tiny_data, tmp_path
):
    from peft import get_peft_model_state_dict
    from safetensors.torch import load_file

    first = train_module.train(tiny_config(tiny_dir, tiny_data, tmp_path / "a", max_steps=4), progress=False)
    saved = load_file(first / "adapter" / "adapter_model.safetensors")
    config = tiny_config(tiny_dir, tiny_data, tmp_path / "b", max_steps=4, init_adapter=str(first))
    model, _ = train_module.build_model(config, "cpu")
    loaded = get_peft_model_state_dict(model)
    assert loaded.keys() == saved.keys()
    for key in saved:
        torch.testing.assert_close(loaded[key], saved[key])
    assert any(float(v.abs().sum()) > 0 for k, v in saved.items() if "lora_B" in k)  # not the zero init

    config.lora.r = 2 * config.lora.r
    with pytest.raises(train_module.TrainError, match="does not fit this lora config"):
        train_module.build_model(config, "cpu")


def test_full_fine_tuning_trains_the_blocks_keeps_the_embeddings_and_writes_a_loadable_model(
    tiny_dir, tiny_data, tmp_path
):
    from safetensors.torch import load_file

    from insabot.config import ModelConfig
    from insabot.models.loading import load

    config = tiny_config(tiny_dir, tiny_data, tmp_path / "run", max_steps=8, method="full")
    config.lora.trainable_tokens = ["<|im_end|>"]
    run = train_module.train(config, progress=False)
    losses = [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert losses[-1] < losses[0] - 0.5
    assert not (run / "adapter").exists() and "fine-tuned model" in (run / "README.md").read_text()

    before = load_file(tiny_dir / "model.safetensors")
    after = load_file(run / "model" / "model.safetensors")
    assert after.keys() <= before.keys() | {"lm_head.weight"}
    end = train_module._token_indices(train_module.build_model(config, "cpu")[1], ["<|im_end|>"])[0]
    embeddings = "model.embed_tokens.weight"
    others = torch.ones(len(before[embeddings]), dtype=torch.bool)
    others[end] = False
    torch.testing.assert_close(after[embeddings][others], before[embeddings][others])  # frozen
    assert not torch.equal(after[embeddings][end], before[embeddings][end])  # the trained row, merged
    for name in (
        "model.layers.0.self_attn.q_proj.weight",
        "model.layers.0.mlp.down_proj.weight",
        "model.norm.weight",
    ):
        assert not torch.equal(after[name], before[name])

    merged = load(ModelConfig(base_model=str(run / "model")), device="cpu")  # chats like any local model
    ids = merged.tokenizer("야, 이거 어때?", return_tensors="pt")["input_ids"]
    assert merged.model(ids).logits.isfinite().all()


def test_interrupted_checkpoint_save_leaves_nothing_to_resume_from(tmp_path, tiny, monkeypatch):
    model, _ = tiny
    from peft import LoraConfig, get_peft_model

    peft_model = get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj"]))
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad])
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    real_save = torch.save

    def die_on_rng(obj, path, *args, **kwargs):
        if str(path).endswith("rng.pt"):
            raise KeyboardInterrupt
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", die_on_rng)
    with pytest.raises(KeyboardInterrupt):
        train_module.save_checkpoint(tmp_path, peft_model, optimizer, scheduler, {"step": 3}, keep=2)
    assert train_module.latest_checkpoint(tmp_path) is None
    assert list((tmp_path / "checkpoints").iterdir()) == []
    peft_model.unload()


def test_export_merged_matches_base_plus_adapter(tiny_dir, tiny_data, tmp_path):
    from insabot.config import ModelConfig
    from insabot.finetune.export import export_merged
    from insabot.models.loading import load

    run = train_module.train(tiny_config(tiny_dir, tiny_data, tmp_path / "run", max_steps=4), progress=False)
    merged_dir = export_merged(str(run), tmp_path / "merged")
    # fp32 pinned: the merge's arithmetic is what is compared, not bf16's rounding (`auto` on a bf16 CPU)
    with_adapter = load(
        ModelConfig(base_model=str(tiny_dir), adapter=str(run), dtype="float32", weights="native"),
        device="cpu",
    )
    merged = load(ModelConfig(base_model=str(merged_dir), dtype="float32", weights="native"), device="cpu")
    ids = with_adapter.tokenizer("야, 이거 어때?", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        torch.testing.assert_close(
            merged.model(ids).logits, with_adapter.model(ids).logits, atol=1e-4, rtol=1e-4
        )


def test_shippable_adapter_export_loads_and_names_its_base(tiny_dir, tiny_data, tmp_path):
    from insabot.cli import main
    from insabot.config import ModelConfig
    from insabot.models.loading import load

    run = train_module.train(tiny_config(tiny_dir, tiny_data, tmp_path / "run", max_steps=2), progress=False)
    out = tmp_path / "shipped"
    assert main(["export", str(run), "--adapter", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {
        "adapter_model.safetensors",
        "adapter_config.json",
        "README.md",
        "loss.png",
        "metrics.jsonl",
    } <= names
    assert "tokenizer.json" not in names and "checkpoints" not in names
    assert json.loads((out / "adapter_config.json").read_text())["base_model_name_or_path"] == str(tiny_dir)
    with_run = load(ModelConfig(base_model=str(tiny_dir), adapter=str(run)), device="cpu")
    shipped = load(ModelConfig(base_model=str(tiny_dir), adapter=str(out)), device="cpu")
    ids = with_run.tokenizer("성수 가자", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        torch.testing.assert_close(shipped.model(ids).logits, with_run.model(ids).logits)
    assert main(["export", str(run), "--adapter", str(out)]) == 2  # never overwrites


def test_bfloat16_adapter_export_halves_the_weights_and_loads_back(tiny_dir, tiny_data, tmp_path):
    from safetensors.torch import load_file

    from insabot.cli import main
    from insabot.config import ModelConfig
    from insabot.models.loading import load

    run = train_module.train(tiny_config(tiny_dir, tiny_data, tmp_path / "run", max_steps=2), progress=False)
    full, half = tmp_path / "fp32", tmp_path / "bf16"
    assert main(["export", str(run), "--adapter", str(full)]) == 0
    assert main(["export", str(run), "--adapter", str(half), "--weights-dtype", "bfloat16"]) == 0
    full_weights = load_file(full / "adapter_model.safetensors")
    half_weights = load_file(half / "adapter_model.safetensors")
    assert full_weights.keys() == half_weights.keys()
    for name, tensor in full_weights.items():
        assert half_weights[name].dtype == torch.bfloat16, name
        assert torch.equal(half_weights[name], tensor.to(torch.bfloat16)), name
    weights_file = "adapter_model.safetensors"
    assert (half / weights_file).stat().st_size < 0.6 * (full / weights_file).stat().st_size
    shipped = load(
        ModelConfig(base_model=str(tiny_dir), adapter=str(half), dtype="float32", weights="native"),
        device="cpu",
    )
    assert shipped.model.dtype == torch.float32  # the bf16 weights load into the fp32 model
