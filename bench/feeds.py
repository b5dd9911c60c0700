#!/usr/bin/env python
"""What a feed costs: ``python bench/feeds.py [--feeds 100,1000,10000]``.

A catalog of N feeds (copies of the replica's ``kunmingribao`` under N names
and categories, one listing page each), crawled by ``scrapy crawlall`` twice
against the bundled replica (its own process, no faults, no latency): a
first crawl, then the re-crawl with nothing new that a periodic schedule
repeats. For each run: wall time, CPU time (user + system of the crawl's
process and its children) and peak RSS, and per feed: CPU time beyond a
fixed start-up (the figure of the smallest N's run, scaled) and memory.

Issue 15's target for the re-crawl: at most 3 ms of CPU per feed beyond its
requests and memory flat in N (under 250 MB at 10,000 feeds). The table
prints the target beside the figures of the code checked out; run it on two
checkouts for two designs. Writes everything to
``bench/results/feeds-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import PROJECT_ROOT, BenchReplica, measure, scrapy, settings_args

RESULTS = PROJECT_ROOT / "bench" / "results"
TEMPLATE = "kunmingribao"
PER_PAGE = 10
TARGET_CPU_MS = 3.0
TARGET_RSS_MB = 250.0


def write_catalog(replica_url: str, feeds: int, path: Path) -> Path:
    """``feeds`` copies of the replica's TEMPLATE feed, one listing page each."""
    from replica import replica_catalog

    spec = replica_catalog(replica_url)["feeds"][TEMPLATE]
    catalog = {
        "feeds": {
            f"feed{i:05d}": {**spec, "category": f"feed{i:05d}", "max_pages": 1}
            for i in range(feeds)
        }
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(catalog, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def crawl(catalog: Path, mirror: Path, work: Path, extra: dict[str, Any]) -> dict[str, Any]:
    settings = {
        "MIRROR_DIR": str(mirror),
        "NEWS_FEEDS_FILE": str(catalog),
        "AUTOTHROTTLE_ENABLED": False,
        "MIRROR_PROGRESS_INTERVAL": 0,
        "LOG_LEVEL": "INFO",
        **extra,
    }
    m = measure(scrapy("crawlall", *settings_args(settings)), work).check()
    lines = m.stdout.strip().splitlines()
    return {**m.figures(), "last_line": lines[-2] if len(lines) > 1 else ""}


def run(sizes: list[int], extra: dict[str, Any], say: Any) -> dict[str, Any]:
    now = datetime.now().astimezone().replace(second=0, microsecond=0).isoformat()
    shm = Path("/dev/shm")
    work = Path(tempfile.mkdtemp(prefix="news-mirror-feeds-", dir=shm if shm.is_dir() else None))
    out: dict[str, Any] = {"sizes": {}, "loadavg_start": os.getloadavg()}
    try:
        with BenchReplica(PER_PAGE, PER_PAGE, 0, now) as replica:
            for n in sizes:
                catalog = write_catalog(replica.url, n, work / f"feeds-{n}.yaml")
                mirror = work / f"mirror-{n}"
                figures = {}
                for run_name in ("first", "recrawl"):
                    say(f"  {n} feeds: {run_name} crawl")
                    replica.reset()
                    figures[run_name] = crawl(catalog, mirror, work / f"{run_name}-{n}", extra)
                    figures[run_name]["requests"] = replica.stats()["requests"]
                out["sizes"][str(n)] = figures
                shutil.rmtree(mirror, ignore_errors=True)
    finally:
        out["loadavg_end"] = os.getloadavg()
        shutil.rmtree(work, ignore_errors=True)
    # CPU per feed beyond the start-up: the slope between the smallest and each size.
    base_n = min(sizes)
    base = out["sizes"][str(base_n)]["recrawl"]
    for n in sizes:
        r = out["sizes"][str(n)]["recrawl"]
        r["cpu_per_feed_ms"] = round(r["cpu_s"] / n * 1000, 2)
        if n > base_n:
            extra_cpu = r["cpu_s"] - base["cpu_s"]
            r["cpu_per_extra_feed_ms"] = round(extra_cpu / (n - base_n) * 1000, 2)
    return out


def table(results: dict[str, Any]) -> str:
    rows = [("feeds", "run", "wall", "CPU", "CPU/feed", "CPU/extra feed", "peak RSS", "requests")]
    for n, figures in results["sizes"].items():
        for name, r in figures.items():
            rows.append((
                n, name, f"{r['wall_s']:.1f} s", f"{r['cpu_s']:.1f} s",
                f"{r['cpu_s'] / int(n) * 1000:.1f} ms",
                f"{r['cpu_per_extra_feed_ms']:.1f} ms" if "cpu_per_extra_feed_ms" in r else "",
                f"{r['max_rss_mb']:.0f} MB", str(r.get("requests", "")),
            ))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(
        f"target (issue 15), re-crawl: ≤ {TARGET_CPU_MS:g} ms CPU per feed beyond its requests, "
        f"peak RSS flat in the number of feeds, < {TARGET_RSS_MB:g} MB at 10,000 feeds"
    )
    lines.append(
        f"load average {results['loadavg_start'][0]:.2f} at start, "
        f"{results['loadavg_end'][0]:.2f} at end; {os.cpu_count()} CPUs"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python bench/feeds.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--feeds", default="100,1000,10000", help="catalog sizes (100,1000,10000)")
    p.add_argument("-s", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                   help="a setting for every crawl")  # fmt: skip
    args = p.parse_args(argv)
    sizes = sorted(int(n) for n in args.feeds.split(",") if n.strip())
    extra = dict(s.split("=", 1) for s in args.settings)
    results = run(sizes, extra, say=lambda msg: print(msg, file=sys.stderr, flush=True))
    print(table(results))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"feeds-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False), "utf-8")
    print(f"\nResults written to {out.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
