#!/usr/bin/env python
"""The revisit schedule's cost: ``python bench/revisits.py [N]``.

Puts ``N`` (default 20 000) posts on a fresh schedule one by one, as the
write pipeline does, opens it again (what each crawler does at start), and
claims the revisits of one feed due at the first age (what a run does at
start); prints the time of each.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.mirror.revisits import RevisitSchedule, Scheduled, parse_ages


def main(n: int) -> None:
    ages = parse_ages("1h,24h")
    first = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with tempfile.TemporaryDirectory() as root:
        schedule = RevisitSchedule(root, ages)
        t = time.perf_counter()
        for k in range(n):
            code = f"NW2026010100{k:08d}"
            schedule.add(Scheduled(
                code, f"feed{k % 7}", first.timestamp(),
                f"http://finews.zning.xyz/html_News/NewsShare.html?infoCode={code}",
                f"http://finews.zning.xyz/html_News/NewsShare.html?infoCode={code}",
                f"2026-01-01-{code}.md",
            ))  # fmt: skip
        add = (time.perf_counter() - t) / n
        schedule.close()
        size = (Path(root) / ".mirror" / "revisits.jsonl").stat().st_size
        t = time.perf_counter()
        schedule = RevisitSchedule(root, ages)
        opened = time.perf_counter() - t
        t = time.perf_counter()
        due = schedule.claim_due("feed0", first + timedelta(hours=1))
        claimed = time.perf_counter() - t
        schedule.close()
    print(
        f"{n} posts: add {add * 1e6:.0f} µs a post; file {size / 1e6:.1f} MB; "
        f"open {opened * 1e3:.0f} ms; claim {len(due)} due of one feed {claimed * 1e3:.0f} ms"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
