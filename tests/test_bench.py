"""The training bench runs end to end (tiny model) and compares like with like: same optimizer steps."""

import re
import subprocess
import sys

from tiny_models import save_tiny_llama


def test_bench_prints_every_trainer_with_equal_steps(tmp_path):
    model = save_tiny_llama(tmp_path / "tiny")
    command = [sys.executable, "-m", "insabot.finetune.bench", "--models", str(model)]
    command += ["--conversations", "12", "--validation", "4", "--max-seq-len", "512"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rows = {
        m["variant"]: m
        for m in re.finditer(r"^(?P<variant>baseline|trl|recipe)\s+(?P<steps>\d+)", output, re.M)
    }
    assert set(rows) == {"baseline", "trl", "recipe"}
    assert rows["baseline"]["steps"] == rows["recipe"]["steps"] == "3"  # 12 conversations, 4 per step
    assert int(rows["trl"]["steps"]) in (2, 3, 4)  # TRL packs its own rows: about the recipe's count
    for other in ("baseline", "trl"):
        assert re.search(
            rf"recipe vs {other}: speed-up \d+\.\d\dx; validation loss delta [+-]\d\.\d{{4}}; peak memory ratio \d",
            output,
        )


def test_trl_padding_free_rows_give_each_conversation_its_own_loss(tiny):
    """What makes TRL's packed, padding-free rows usable on a CPU without flash attention: fed position ids that
    restart at each conversation and no attention mask, transformers' SDPA attends within each conversation only,
    so the row's loss equals the conversations' losses computed one by one, as long as no KV cache is built."""
    import torch
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    model, tokenizer = tiny
    texts = ["야 뭐해? 나 지금 성수", "오늘 회사에서 완전 털렸어 ㅠㅠ 퇴근하고 싶다", "점심 뭐 먹지"]
    examples = [{"input_ids": tokenizer(t, add_special_tokens=False)["input_ids"]} for t in texts]
    collator = DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id or 0, padding_free=True)
    packed = collator(examples)
    assert "attention_mask" not in packed and packed["input_ids"].shape[0] == 1
    with torch.no_grad():
        # use_cache=False, as SFTTrainer.compute_loss passes it: a model that builds a KV cache skips the
        # packed-sequence check (transformers' masking_utils) and lets the row attend across conversations
        row_loss = model(**packed, use_cache=False).loss
        assert abs(float(model(**packed).loss) - float(row_loss)) > 1e-3  # that failure, shown
        one_by_one = [
            model(input_ids=torch.tensor([e["input_ids"]]), labels=torch.tensor([e["input_ids"]])).loss
            for e in examples
        ]
    # the row's loss is the mean over its predicted tokens: weight each conversation by its len - 1
    weights = torch.tensor([len(e["input_ids"]) - 1 for e in examples], dtype=torch.float32)
    expected = (torch.stack(one_by_one) * weights).sum() / weights.sum()
    torch.testing.assert_close(row_loss, expected, rtol=1e-4, atol=1e-5)
