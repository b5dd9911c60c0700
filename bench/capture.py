#!/usr/bin/env python
"""What ``MIRROR_CAPTURE`` costs: ``python bench/capture.py [--articles N] [--repeat R]``.

Backfills ``--articles`` articles of the replica's ``kunmingribao`` feed (HTML
listing pages and share pages, served with no delay) on a fresh mirror, with
capture off and on, in turn, ``--repeat`` times; then, on the captured
mirror, times ``scrapy rebuild`` (which changes nothing) and ``scrapy verify
--capture``. Prints, per 1,000 articles: the disk the capture takes (its
WARC files and the provenance) beside the disk the posts take, and the
crawl's wall and CPU time with and without it (medians); writes them all as
JSON to ``bench/results/capture-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import BenchReplica, measure, scrapy, settings_args, write_catalog
from crawler.mirror.capture import capture_dir

FEED = "kunmingribao"
SETTINGS = {
    "CONCURRENT_REQUESTS": 32, "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
    "AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "LOG_LEVEL": "INFO",
}  # fmt: skip


def disk(folder: Path, pattern: str = "*") -> int:
    return sum(p.stat().st_size for p in folder.rglob(pattern) if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--per-page", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work-dir", type=Path, default=None)
    opts = parser.parse_args()
    base = opts.work_dir or (Path("/dev/shm") if Path("/dev/shm").is_dir() else None)
    work = Path(tempfile.mkdtemp(prefix="capture-bench-", dir=base))
    now = datetime.now().astimezone().replace(second=0, microsecond=0).isoformat()
    per_k = 1000 / opts.articles
    runs: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
    result: dict[str, Any] = {"articles": opts.articles, "per_page": opts.per_page}
    try:
        with BenchReplica(opts.articles, opts.per_page, 0, now) as replica:
            pages = opts.articles // opts.per_page + 1
            catalog = write_catalog(replica.url, FEED, pages, work / "feeds.yaml")
            for i in range(opts.repeat):
                for mode in ("off", "on"):
                    mirror = work / f"{mode}-{i}"
                    argv = scrapy(
                        "crawl", FEED, *settings_args({
                            **SETTINGS, "MIRROR_DIR": mirror, "NEWS_FEEDS_FILE": catalog,
                            "MIRROR_CAPTURE": mode == "on",
                        }),
                    )  # fmt: skip
                    m = measure(argv, work / f"run-{mode}-{i}").check()
                    runs[mode].append(m.figures())
                    if mode == "on" and i == 0:
                        posts = len(list((mirror / "_posts").glob("*.md"))) + len(
                            list((mirror / "old_post").glob("*.md"))
                        )
                        folder = capture_dir(mirror)
                        result["posts"] = posts
                        result["post_bytes_per_1000"] = round(
                            (disk(mirror / "_posts") + disk(mirror / "old_post")) * per_k
                        )
                        result["warc_bytes_per_1000"] = round(disk(folder, "*.warc.gz") * per_k)
                        result["provenance_bytes_per_1000"] = round(disk(folder, "*.jsonl") * per_k)
                        result["warc_files"] = len(list(folder.glob("*.warc.gz")))
                        captured = mirror
                    if mode == "off":
                        shutil.rmtree(mirror)
            common = settings_args({"MIRROR_DIR": captured, "NEWS_FEEDS_FILE": catalog})
            replica.reset()
            started = time.perf_counter()
            rebuilt = measure(scrapy("rebuild", *common), work / "rebuild").check()
            result["rebuild"] = {**rebuilt.figures(), "stdout": rebuilt.stdout.strip()}
            result["rebuild_requests"] = sum(replica.stats()["by_kind"].values())
            verified = measure(scrapy("verify", "--capture", *common), work / "verify").check()
            result["verify_capture"] = {**verified.figures(), "stdout": verified.stdout.strip()}
            result["rebuild_and_verify_s"] = round(time.perf_counter() - started, 2)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for mode in ("off", "on"):
        result[f"crawl_{mode}"] = {
            key: statistics.median(r[key] for r in runs[mode]) for key in runs[mode][0]
        }
        result[f"crawl_{mode}_runs"] = runs[mode]
    off, on = result["crawl_off"], result["crawl_on"]
    print(f"{opts.articles} articles, {opts.repeat} runs each (medians)")
    print(f"  posts on disk per 1,000:           {result['post_bytes_per_1000'] / 1e6:.2f} MB")
    print(
        f"  capture per 1,000:                 {result['warc_bytes_per_1000'] / 1e6:.2f} MB WARC "
        f"+ {result['provenance_bytes_per_1000'] / 1e6:.2f} MB provenance "
        f"({result['warc_files']} file)"
    )
    print(f"  crawl wall / CPU, capture off:     {off['wall_s']:.2f} s / {off['cpu_s']:.2f} s")
    print(f"  crawl wall / CPU, capture on:      {on['wall_s']:.2f} s / {on['cpu_s']:.2f} s")
    print(f"  peak RSS off / on:                 {off['max_rss_mb']} / {on['max_rss_mb']} MB")
    print(
        f"  rebuild (nothing changes):         {result['rebuild']['wall_s']:.2f} s, "
        f"{result['rebuild_requests']} requests"
    )
    print(f"  verify --capture:                  {result['verify_capture']['wall_s']:.2f} s")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    path = out / f"capture-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False), "utf-8")
    print(f"  written to {path}")


if __name__ == "__main__":
    main()
