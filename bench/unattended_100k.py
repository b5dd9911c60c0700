"""What retention and status cost on a mirror left running for months.

``python -m bench.unattended_100k [POSTS] [RUNS]`` makes a mirror of POSTS
post files (default 100 000; one per 3 minutes back from now, so most are past
the retention window) and a run history of RUNS runs of the shipped catalog's
7 feeds (default 52 560: six months of runs every 5 minutes), then times the
real commands as a user starts them: ``scrapy rotate`` (twice: the second
finds nothing to move) and ``scrapy status``. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from crawler.mirror.runlog import RunLog
from crawler.source.catalog import load_catalog

TZ = ZoneInfo("Asia/Shanghai")


def make_mirror(root: Path, posts: int, runs: int) -> None:
    folder = root / "_posts"
    folder.mkdir(parents=True)
    now = datetime.now(TZ)
    for k in range(posts):
        when = now - timedelta(minutes=3 * k)
        (folder / f"{when:%Y-%m-%d}-NWBENCH{k:08d}.md").write_bytes(b"---\n")
    feeds = list(load_catalog())
    log = RunLog(root)
    start = now - timedelta(minutes=5 * runs)
    log.path.parent.mkdir(parents=True)
    with open(log.path, "w") as f:
        for k in range(runs):
            at = start + timedelta(minutes=5 * k)
            record = {
                "id": f"{k:032x}", "command": "crawlall", "pid": 1, "host": "bench",
                "start": at.isoformat(timespec="seconds"),
                "end": (at + timedelta(seconds=20)).isoformat(timespec="seconds"),
                "status": 0, "rotated": 0,
                "feeds": {
                    name: {"new": k % 3, "known": 10, "filtered": 0, "pages": 1,
                           "dropped": {}, "errors": {"http_500": 1} if k % 50 == 0 else {},
                           "failed": "", "reason": "finished"}
                    for name in feeds
                },
            }  # fmt: skip
            f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


def timed(root: Path, *args: str) -> tuple[float, str]:
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawler.settings")
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", *args, "-s", f"MIRROR_DIR={root}"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - t0
    if done.returncode not in (0, 1):
        raise SystemExit(f"scrapy {' '.join(args)} failed: {done.stderr[-2000:]}")
    return elapsed, done.stdout


def main() -> None:
    posts = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 52_560
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "mirror"
        make_mirror(root, posts, runs)
        baseline, _ = timed(root, "version")
        rotate, out = timed(root, "rotate")
        again, _ = timed(root, "rotate")
        status, _ = timed(root, "status")
        moved = len(os.listdir(root / "old_post"))
        print(json.dumps({
            "posts": posts, "moved": moved, "runs_in_history": runs,
            "history_mb": round((root / ".mirror" / "runs.jsonl").stat().st_size / 2**20, 1),
            "scrapy_version_s": round(baseline, 2),
            "rotate_s": round(rotate, 2), "rotate_nothing_to_move_s": round(again, 2),
            "status_s": round(status, 2), "rotate_line": out.strip(),
        }, ensure_ascii=False))  # fmt: skip


if __name__ == "__main__":
    main()
