"""Validation of the speech-level analyser against labelled sets: the project's (eval/data/speech_levels.jsonl,
for tuning) and the blind holdouts (eval/data/speech_levels_holdout*.jsonl, each written without sight of the
analyser and frozen before it was first scored; a scored holdout may be tuned on, and the next one gives the number).

Every row has a gold `register` (polite / casual / mixed / none) and a `case` (the kind of text); rows of the
original set also carry a gold `level`. The report prints the analyser beside a baseline in one run: the
last-EF probe, which reads only the last final ending (EF) Kiwi finds in the whole text.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

from insabot.eval.gate import wilson_bound
from insabot.korean.speech_level import LEVELS, REGISTERS
from insabot.textio import read_jsonl

DATA = Path(__file__).parent / "data"
LABELLED_SET = DATA / "speech_levels.jsonl"
# The blind holdouts, numbered in the order they were used: each by writers (two; three for the 4th and 6th) that
# saw only the brief, never the analyser's rules or another set; frozen (NFC, labels as written, this SHA-256) before
# it was first scored; from the 2nd on, lines already in an earlier set dropped. A scored holdout may be tuned on,
# and the next one gives the unseen-text number. A new one is a new line here and a file in eval/data/.
HOLDOUT_SHA256 = {
    1: "7c20e42127898cbca8a8f694f9a49ee6476eb5884eb6195dd8464e8cabf0126c",
    2: "e61dd512ad52eb969d1b11fc02671008d9bfa1bc892f4f6deb0bb5ba87be403c",
    3: "3a7784436e433aeb9b2027181404cc1aa9f3b83a56a0a3a16f9129e3d6ce560e",
    4: "ffaf7a8fc289a0bad648c2bb7d898f87211699d7219560285365f724599d5920",
    5: "c32337a01a0f42b5bc48a811767edfb2b024bd56da3bcc264556da65d94bd8ad",
    6: "4d3eefd30bf29968895470c1ad9b4860ce0e9b9e7bcd6c46b1b232787d0354aa",
    7: "daf9e1981b77e410153fdc681cd57441e6e2970fd4b0f993f391c6e4c227496e",
    8: "fe06aeed04041444d81086e877c10f46004644e5d0530457c43eb97476de488a",
    9: "085d8b1f9874877bc52bedf744498e73ce130420f61f7d1d9aedcc6dd8cbc911",
    10: "7dce9ff9dd38dfc0230f8f3c9c27806c2bcedf2faec110a019fa2a1a3a1e2412",
    11: "d082a55dec4a9053aed5b657de61a9ddebded671cceb1b128b668ba9ee94c63b",
    12: "8c8204222605b6851fc69252422005460675dbcbfc0a6193a0dcf8fab13706a3",
    13: "6fb99087e04fb697fccfb936cff23b24d37a1823dbea4554912c2333e56f559e",
    14: "a6e7c375b33c8220117605e82524091e698d5380f68f24dfdecfc1d221ff373c",
    15: "e89a10ae537d319c98e0d4cce67acfeb2bb12727867ad2184a907415c615f0ac",
    16: "2f10a9f4125afad366defdacf5fd09ad1c1e32ddefb5adf2e1213f82afc703cf",
    17: "7c10fe39fb053503345d3bad3ebe532a10d0ba24f53888ddf209e1554d668d55",
    18: "2c69897ac66e19d8d67c03a70e788a9eb1c43a52526bd77308e3c1dd4bce3dd5",
    19: "51accbceb816684d78bd0268e3bf3eb073822fbddbc2969cf43943be694da87d",
    20: "798ca77d2309eb182b72af4ba8b7a1681001024a1d94deb2b9279a83b5cd79e4",
    21: "cf8437a83dc478eca6fd7a39f0a9e6bed182df3e50e1b58de6d74255640cc218",
    22: "9f77931e5ebc949183d942b76a2ecec27075eed7e6125b2c182205439ad76c68",
    23: "e03938656ff61b1a5b722e3d707aae605c3152f1d74dc5ac3ed040b9f1d50746",
    24: "94f431fe70f59f8da482dcd0c4a73b50d03071af742e87a89cb973530df98b1d",
    25: "37f02c0220063429e4b67155d7d1c8f1b4e4dbcccd4fbc97b7bab540fa25c1eb",
    26: "0f083702ebbb1ea4694a1ea80adb14e99d359d628ed4d8b8dc3efcfa572e0997",
    27: "daf7b728bc8acd07e23ae0f2a416e11e8a3fbe8e5873a5e9e52c43b7d43100da",
    28: "4c414e168d9c4364b631bf1beba65b9d439b6258c9ab577b019e6c83d6ef7285",
}
HOLDOUTS = {
    n: DATA / ("speech_levels_holdout.jsonl" if n == 1 else f"speech_levels_holdout_{n}.jsonl")
    for n in HOLDOUT_SHA256
}
BLIND_HOLDOUT = max(HOLDOUTS)
"""The newest holdout: the one not tuned on yet (`--holdout` alone scores it)."""
Z95 = 1.959964


def load_labelled(path: Path = LABELLED_SET) -> list[dict]:
    """Rows of `{"id", "text", "register", "case"}` (and `level` where one was labelled)."""
    return [row for _, row in read_jsonl(path)]


def last_ef_registers(texts) -> list[str]:
    """The baseline: the register of the last final ending (EF) Kiwi finds in the whole text; none without one."""
    from insabot.chat import nfc
    from insabot.korean.speech_level import _CODA_TO_COMPAT, ending_level, kiwi, level_register

    result = []
    for tokens in kiwi().tokenize([nfc(text) for text in texts]):
        endings = [t for t in tokens if t.tag == "EF"]
        form = endings[-1].form.translate(_CODA_TO_COMPAT) if endings else None
        result.append(level_register(ending_level(form, "EF")) if form else "none")
    return result


def score(gold: list[str], predicted: list[str], labels: tuple[str, ...] = LEVELS) -> dict:
    """Accuracy, per-class precision/recall/support and the confusion matrix (gold -> predicted -> count)."""
    confusion: dict[str, collections.Counter] = {label: collections.Counter() for label in labels}
    for truth, guess in zip(gold, predicted, strict=True):
        confusion.setdefault(truth, collections.Counter())[guess] += 1
    per_class = {}
    for label in labels:
        true_positive = confusion[label][label]
        predicted_as = sum(row[label] for row in confusion.values())
        support = sum(confusion[label].values())
        per_class[label] = {
            "precision": round(true_positive / predicted_as, 4) if predicted_as else None,
            "recall": round(true_positive / support, 4) if support else None,
            "support": support,
        }
    correct = sum(t == p for t, p in zip(gold, predicted, strict=True))
    return {
        "accuracy": round(correct / len(gold), 4),
        "items": len(gold),
        "per_class": per_class,
        "confusion": {truth: dict(row) for truth, row in confusion.items()},
    }


def accuracy(hits: int, n: int) -> dict:
    """A rate with its 95 % Wilson score interval."""
    if not n:
        return {"accuracy": None, "correct": 0, "n": 0, "ci95": None}
    rate = hits / n
    low, high = wilson_bound(rate, n, False, Z95), wilson_bound(rate, n, True, Z95)
    return {"accuracy": round(rate, 4), "correct": hits, "n": n, "ci95": [round(low, 4), round(high, 4)]}


def register_report(items: list[dict], analyser: list[str], baseline: list[str]) -> dict:
    """The analyser and the baseline on the same rows: polite-vs-casual (rows labelled polite or casual; a guess
    of mixed/none is a miss), all four registers, and the four-way accuracy per kind (`case`)."""
    gold = [item["register"] for item in items]
    two_way = [i for i, g in enumerate(gold) if g in ("polite", "casual")]
    report = {"items": len(items)}
    for name, predicted in (("analyser", analyser), ("last_ef", baseline)):
        report[name] = {
            "polite_vs_casual": accuracy(sum(predicted[i] == gold[i] for i in two_way), len(two_way)),
            "register": accuracy(sum(p == g for p, g in zip(predicted, gold, strict=True)), len(gold)),
            "confusion": score(gold, predicted, REGISTERS)["confusion"],
        }
    kinds = sorted({item["case"] for item in items})
    report["per_kind"] = {
        kind: {
            "n": len(rows),
            "analyser": round(sum(analyser[i] == gold[i] for i in rows) / len(rows), 4),
            "last_ef": round(sum(baseline[i] == gold[i] for i in rows) / len(rows), 4),
        }
        for kind in kinds
        for rows in [[i for i, item in enumerate(items) if item["case"] == kind]]
    }
    return report


def _rate(result: dict) -> str:
    low, high = result["ci95"]
    return f"{result['accuracy']:.2%} ({result['correct']}/{result['n']}; 95 % CI {low:.2%}–{high:.2%})"


def format_register_report(report: dict) -> str:
    lines = [
        f"register on {report['items']} labelled texts: analyser vs the last-EF baseline",
        "",
        "| | analyser | last EF |",
        "|---|---|---|",
        f"| polite vs casual | {_rate(report['analyser']['polite_vs_casual'])} | "
        f"{_rate(report['last_ef']['polite_vs_casual'])} |",
        f"| register (4-way) | {_rate(report['analyser']['register'])} | {_rate(report['last_ef']['register'])} |",
        "",
        "| kind | n | analyser | last EF |",
        "|---|---|---|---|",
    ]
    for kind, row in report["per_kind"].items():
        lines.append(f"| {kind} | {row['n']} | {row['analyser']:.2%} | {row['last_ef']:.2%} |")
    for name in ("analyser", "last_ef"):
        confusion = report[name]["confusion"]
        lines += [
            "",
            f"{name} confusion (rows: gold, columns: predicted)",
            "| gold | " + " | ".join(REGISTERS) + " |",
            "|---|" + "---|" * len(REGISTERS),
        ]
        for truth in REGISTERS:
            row = confusion.get(truth, {})
            lines.append(f"| {truth} | " + " | ".join(str(row.get(p, 0)) for p in REGISTERS) + " |")
    return "\n".join(lines)


def format_score(result: dict) -> str:
    lines = [
        f"speech-level accuracy: {result['accuracy']:.2%} on {result['items']} texts labelled with a level",
        "",
        "| level | precision | recall | support |",
        "|---|---|---|---|",
    ]
    for level, stats in result["per_class"].items():
        lines.append(f"| {level} | {stats['precision']} | {stats['recall']} | {stats['support']} |")
    predicted = sorted({guess for row in result["confusion"].values() for guess in row})
    lines += [
        "",
        "confusion (rows: gold, columns: predicted)",
        "| gold | " + " | ".join(predicted) + " |",
        "|---|" + "---|" * len(predicted),
    ]
    for truth, row in result["confusion"].items():
        lines.append(f"| {truth} | " + " | ".join(str(row.get(p, 0)) for p in predicted) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """python -m insabot.eval.validation [--holdout [1|2|3] | PATH]: the register report (analyser and last-EF baseline,
    overall and per kind), then the speech-level tables for the rows labelled with a level."""
    from insabot.korean.analyze import analyze

    parser = argparse.ArgumentParser(prog="python -m insabot.eval.validation", description=main.__doc__)
    parser.add_argument(
        "path", nargs="?", default=None, help=f"a labelled set (default: {LABELLED_SET.name})"
    )
    parser.add_argument(
        "--holdout",
        nargs="?",
        type=int,
        const=BLIND_HOLDOUT,
        choices=tuple(HOLDOUTS),
        help=f"score a blind holdout: {BLIND_HOLDOUT} (the default; the blind one) or 1–{BLIND_HOLDOUT - 1} (tuned on "
        "since they were scored)",
    )
    args = parser.parse_args(argv)
    items = load_labelled(Path(args.path) if args.path else HOLDOUTS.get(args.holdout, LABELLED_SET))
    analyses = analyze(item["text"] for item in items)
    baseline = last_ef_registers(item["text"] for item in items)
    print(format_register_report(register_report(items, [a.register for a in analyses], baseline)))
    levelled = [(item["level"], a.level) for item, a in zip(items, analyses, strict=True) if "level" in item]
    if levelled:
        print()
        print(format_score(score(*map(list, zip(*levelled, strict=True)))))


if __name__ == "__main__":
    main()
