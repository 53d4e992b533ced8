"""What dateparser gets right on the Korean time expressions `insabot plan` resolves, against insabot's own
resolver, on the same cases (the table of tests/test_plan_when.py: every expression family, fixed reference
times: a Wednesday, a Sunday, a year end).

A case is right when the first date found is the expected day (a date-only expectation) or the expected
minute. dateparser gets the reference time as RELATIVE_BASE and prefers future dates, as a plan would.
Run: pip install dateparser && python benchmarks/plan_dateparser.py
"""

from __future__ import annotations

import argparse
import importlib.util
from collections import Counter
from datetime import date, datetime
from pathlib import Path

CASES_FILE = Path(__file__).parents[1] / "tests" / "test_plan_when.py"


def load_cases() -> list[tuple[str, datetime, date | datetime]]:
    spec = importlib.util.spec_from_file_location("plan_cases", CASES_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CASES


def right(found: date | datetime | None, expected: date | datetime) -> bool:
    if found is None:
        return False
    if not isinstance(expected, datetime):
        return (found.date() if isinstance(found, datetime) else found) == expected
    return isinstance(found, datetime) and found.replace(second=0, microsecond=0) == expected


def dateparser_start(text: str, now: datetime) -> datetime | None:
    from dateparser.search import search_dates

    settings = {
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "PREFER_DATES_FROM": "future",
        "TIMEZONE": "Asia/Seoul",
        "RETURN_AS_TIMEZONE_AWARE": True,
    }
    found = search_dates(text, languages=["ko"], settings=settings)
    return found[0][1] if found else None


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    try:
        import dateparser
    except ImportError:
        raise SystemExit("dateparser is not installed: pip install dateparser") from None
    from insabot.plan import When, resolve

    cases = load_cases()
    scores: Counter[str] = Counter()
    misses = []
    for text, now, expected in cases:
        when = resolve(text, now)
        scores["insabot"] += right(when.start if isinstance(when, When) else None, expected)
        found = dateparser_start(text, now)
        if right(found, expected):
            scores["dateparser"] += 1
        else:
            misses.append((text, expected, found))
    print(f"dateparser {dateparser.__version__}: {scores['dateparser']}/{len(cases)} starts right")
    print(f"insabot.plan.when: {scores['insabot']}/{len(cases)} starts right")
    print("\ndateparser's misses:")
    for text, expected, found in misses:
        print(f"  {text!r}: expected {expected}, got {found}")


if __name__ == "__main__":
    main()
