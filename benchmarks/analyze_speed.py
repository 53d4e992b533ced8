"""How fast `insabot analyze` runs: texts/s on the bundled corpus's chat turns and peak memory.

Baseline, measured in the same run: the same texts analysed one call per text (Kiwi without batching).
Run: python benchmarks/analyze_speed.py [--texts 4000]
"""

import argparse
import resource
import time

from insabot.finetune.conversations import load_corpus
from insabot.korean.analyze import analyze


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=4000)
    args = parser.parse_args()
    turns = [m["content"] for c in load_corpus() for m in c.messages if m["role"] != "system"]
    texts = (turns * (args.texts // len(turns) + 1))[: args.texts]
    analyze(["워밍업"])  # load Kiwi outside the timings

    started = time.perf_counter()
    for start in range(0, len(texts), 512):
        analyze(texts[start : start + 512])
    batched = len(texts) / (time.perf_counter() - started)

    sample = texts[:500]
    started = time.perf_counter()
    for text in sample:
        analyze([text])
    one_by_one = len(sample) / (time.perf_counter() - started)

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"texts: {len(texts)} chat turns (mean {sum(map(len, texts)) / len(texts):.0f} chars)")
    print(f"batched (512/batch): {batched:,.0f} texts/s")
    print(f"one call per text  : {one_by_one:,.0f} texts/s (baseline)")
    print(f"speed-up           : {batched / one_by_one:.2f}x")
    print(f"peak RSS           : {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
