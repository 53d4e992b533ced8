"""The training bench runs end to end (tiny model) and compares like with like: same optimizer steps."""

import re
import subprocess
import sys

from tiny_models import save_tiny_llama


def test_bench_prints_both_variants_with_equal_steps(tmp_path):
    model = save_tiny_llama(tmp_path / "tiny")
    command = [sys.executable, "-m", "insabot.finetune.bench", "--models", str(model)]
    command += ["--conversations", "12", "--validation", "4", "--max-seq-len", "512"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rows = {
        m["variant"]: m for m in re.finditer(r"^(?P<variant>baseline|recipe)\s+(?P<steps>\d+)", output, re.M)
    }
    assert set(rows) == {"baseline", "recipe"}
    assert rows["baseline"]["steps"] == rows["recipe"]["steps"] == "3"  # 12 conversations, 4 per step
    assert re.search(
        r"speed-up \d+\.\d\dx; validation loss delta [+-]\d\.\d{4}; peak memory ratio \d", output
    )
