#!/usr/bin/env python
"""The reliability report: ``python bench/reliability.py [--kills N] [--seed N]``.

Runs the fault-injection trials of :mod:`tests.faults` (the same code the
tests assert on), each against its own replica process on loopback:

* **crash**: ``scrapy crawlall`` of several hundred articles killed with
  SIGKILL at ``--kills`` points spread over the run, restarted after each,
  then run to its end and compared with a clean run;
* **rotate**: ``scrapy rotate`` of ``--rotate-posts`` old posts, killed until
  ``--rotate-kills`` kills have fallen mid-move;
* **hostile**: one crawl of the replica's hostile feeds (broken pages, lying
  charsets, YAML/Markdown/Liquid-breaking titles and outlets, the OWASP XSS
  filter-evasion vectors, …).

It prints the figures (the README's "Politeness and safety" quotes them) and
writes them as JSON to ``bench/results/reliability-<timestamp>.json``. The
exit status is 1 if any figure that must be 0 is not.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from replica.process import ReplicaProcess
from tests.faults import (
    as_dict,
    crash_trial,
    hostile_trial,
    rotate_crash_trial,
)

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python bench/reliability.py", description=__doc__.split("\n")[0]
    )
    p.add_argument("--kills", type=int, default=30, help="SIGKILLs of crawlall (default 30)")
    p.add_argument("--articles", type=int, default=100, help="articles per replica feed")
    p.add_argument("--rotate-posts", type=int, default=4000)
    p.add_argument("--rotate-kills", type=int, default=10)
    p.add_argument("--seed", type=int, default=None, help="replay the kill points of a run")
    p.add_argument("--verbose", action="store_true", help="a line per kill")
    args = p.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    say = print if args.verbose else None
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        work = Path(tmp)
        (work / "crash").mkdir()
        crash = crash_trial(work / "crash", kills=args.kills, articles=args.articles,
                            seed=seed, log=say)  # fmt: skip
        (work / "rotate").mkdir()
        rotate = rotate_crash_trial(work / "rotate", posts=args.rotate_posts,
                                    kills=args.rotate_kills, seed=seed, log=say)  # fmt: skip
        (work / "hostile").mkdir()
        with ReplicaProcess() as replica:
            hostile = hostile_trial(work / "hostile", replica)

    figures = {
        "kill points tried": crash.kill_points + rotate.kill_points,
        "  crawlall killed (of which while writing posts)":
            f"{crash.kill_points} ({crash.killed_writing})",
        "  rotate killed (of which mid-move)": f"{rotate.kill_points} ({rotate.killed_moving})",
        "posts expected (clean crawlall run)": crash.posts_expected,
        "posts lost": crash.posts_lost + rotate.posts_lost,
        "duplicates": crash.duplicates + crash.posts_extra + rotate.duplicates,
        "posts rewritten": crash.rewritten,
        "torn files": crash.torn_files + rotate.torn_files,
        "index entries without a post": crash.index_ahead,
        "half-written temp files kills left (hidden)": crash.temps_left_by_kills,
        "  of them left after the next run": crash.hidden_temps_left,
        "hostile inputs tried": hostile.inputs,
        "posts from hostile feeds": hostile.posts,
        "unsafe outputs": hostile.unsafe_outputs,
        "good articles missed": hostile.good_missed,
        "bad inputs not logged with their URL": hostile.not_logged,
        "forbidden URLs fetched (robots.txt, off-host)": hostile.forbidden_fetches,
        "tracebacks": hostile.tracebacks,
    }  # fmt: skip
    width = max(map(len, figures))
    print(f"Reliability report ({datetime.now():%Y-%m-%d %H:%M}, seed {seed}, "
          f"{time.monotonic() - started:.0f} s)")  # fmt: skip
    for name, value in figures.items():
        print(f"  {name:<{width}}  {value}")
    failures = (
        [f"crash:{n}" for n in crash.failures()]
        + [f"rotate:{n}" for n in rotate.failures()]
        + [f"hostile:{n}" for n in hostile.failures()]
    )
    print("All zero where they must be." if not failures else f"FAILED: {', '.join(failures)}")

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"reliability-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps({
        "seed": seed, "python": platform.python_version(), "platform": platform.platform(),
        "figures": figures, "failures": failures,
        "crash": as_dict(crash), "rotate": as_dict(rotate), "hostile": as_dict(hostile),
    }, ensure_ascii=False, indent=1), "utf-8")  # fmt: skip
    print(f"Written to {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
