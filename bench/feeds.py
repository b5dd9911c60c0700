#!/usr/bin/env python
"""What a feed costs: ``python bench/feeds.py [--feeds 100,1000,10000] [--baseline REV]``.

A catalog of N feeds (copies of the replica's ``kunmingribao`` under N names
and categories, one listing page each), crawled by ``scrapy crawlall``
against the bundled replica (its own process, no faults, no latency): a
first crawl, then the re-crawl with nothing new that a periodic schedule
repeats (one listing request per feed, and robots.txt). In the same run, at
each N:

- **bare requests**: a bare Scrapy spider (:mod:`bench.bare_requests`)
  fetching the re-crawl's URLs (each feed's listing page) with the same
  concurrency: what the requests themselves cost Scrapy;
- **baseline** (``--baseline REV``): the re-crawl of the same mirror by the
  code of commit ``REV`` (a ``git archive`` of it, run from a folder of its
  own: the per-crawler design of 4eeb733 and before), so that the two
  designs are measured on the same machine at the same time, and the
  crawler keeps one code path.

For each run: wall time, CPU time (user + system of the crawl's process and
its children) and peak RSS; for each re-crawl, CPU per feed, and CPU per
feed beyond its requests: the re-crawl's CPU less the bare requests', per
feed (its fixed start-up, about 1 s, included: it weighs at 100 feeds), and
the slope of that from the smallest N (start-up left out).

Issue 15's target for the re-crawl: at most 3 ms of CPU per feed beyond its
requests and memory flat in N (under 250 MB at 10,000 feeds). Writes
everything to ``bench/results/feeds-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (
    PROJECT_ROOT,
    BenchReplica,
    export_tree,
    measure,
    scrapy,
    settings_args,
    text_table,
    write_results,
)

PYTHON = sys.executable

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


def listing_urls(catalog: Path, path: Path) -> Path:
    """The re-crawl's requests (each feed's first listing pages), one a line, into ``path``."""
    from crawler.source.catalog import load_catalog
    from crawler.source.listings import listing_for

    feeds = load_catalog(str(catalog))
    path.write_text("".join(f"{u}\n" for f in feeds.values() for u in listing_for(f).first_urls()))
    return path


def crawl(
    catalog: Path, mirror: Path, work: Path, extra: dict[str, Any], root: Path = PROJECT_ROOT
) -> dict[str, Any]:
    settings = {
        "MIRROR_DIR": str(mirror),
        "NEWS_FEEDS_FILE": str(catalog),
        "AUTOTHROTTLE_ENABLED": False,
        "MIRROR_PROGRESS_INTERVAL": 0,
        "LOG_LEVEL": "INFO",
        **extra,
    }
    m = measure(scrapy("crawlall", *settings_args(settings)), work, root=root).check()
    lines = m.stdout.strip().splitlines()
    return {**m.figures(), "last_line": lines[-2] if len(lines) > 1 else ""}


def bare(urls: Path, work: Path, extra: dict[str, Any]) -> dict[str, Any]:
    """The bare Scrapy spider over ``urls``, with the crawl's concurrency."""
    from crawler import settings as ours

    settings = {
        "CONCURRENT_REQUESTS": ours.CONCURRENT_REQUESTS,
        "CONCURRENT_REQUESTS_PER_DOMAIN": ours.CONCURRENT_REQUESTS_PER_DOMAIN,
        "CONCURRENT_ITEMS": ours.CONCURRENT_ITEMS,
        "DOWNLOAD_DELAY": ours.DOWNLOAD_DELAY,
        **{k: v for k, v in extra.items() if k.startswith(("CONCURRENT_", "DOWNLOAD_"))},
    }
    argv = [PYTHON, "-m", "bench.bare_requests", str(urls), json.dumps(settings)]
    m = measure(argv, work).check()
    return {**m.figures(), "responses": m.last_json().get("responses")}


def run(
    sizes: list[int], extra: dict[str, Any], baseline: str, baseline_max: int, say: Any
) -> dict[str, Any]:
    now = datetime.now().astimezone().replace(second=0, microsecond=0).isoformat()
    shm = Path("/dev/shm")
    work = Path(tempfile.mkdtemp(prefix="news-mirror-feeds-", dir=shm if shm.is_dir() else None))
    out: dict[str, Any] = {"sizes": {}, "baseline": baseline, "loadavg_start": os.getloadavg()}
    try:
        old = export_tree(baseline, work / "baseline") if baseline else None
        with BenchReplica(PER_PAGE, PER_PAGE, 0, now) as replica:
            for n in sizes:
                catalog = write_catalog(replica.url, n, work / f"feeds-{n}.yaml")
                urls = listing_urls(catalog, work / f"urls-{n}.txt")
                mirror = work / f"mirror-{n}"
                figures = {}
                runs: list[tuple[str, Any]] = [
                    ("first", partial(crawl, catalog, mirror, work / f"first-{n}", extra)),
                    ("recrawl", partial(crawl, catalog, mirror, work / f"recrawl-{n}", extra)),
                    ("bare_requests", partial(bare, urls, work / f"bare-{n}", extra)),
                ]
                if old is not None and n <= baseline_max:
                    where = work / f"baseline-{n}"
                    runs.append(
                        ("baseline_recrawl", partial(crawl, catalog, mirror, where, extra, old))
                    )
                for run_name, go in runs:
                    say(f"  {n} feeds: {run_name}")
                    replica.reset()
                    figures[run_name] = go()
                    figures[run_name]["requests"] = replica.stats()["requests"]
                out["sizes"][str(n)] = figures
                shutil.rmtree(mirror, ignore_errors=True)
    finally:
        out["loadavg_end"] = os.getloadavg()
        shutil.rmtree(work, ignore_errors=True)
    base_n = min(sizes)
    for n in sizes:
        figures = out["sizes"][str(n)]
        requests = figures["bare_requests"]["cpu_s"]
        for name in ("recrawl", "baseline_recrawl"):
            r = figures.get(name)
            if r is None:
                continue
            r["cpu_per_feed_ms"] = round(r["cpu_s"] / n * 1000, 2)
            r["beyond_requests_ms"] = round((r["cpu_s"] - requests) / n * 1000, 2)
            base = out["sizes"][str(base_n)].get(name)
            if n > base_n and base is not None:
                base_requests = out["sizes"][str(base_n)]["bare_requests"]["cpu_s"]
                slope = (r["cpu_s"] - requests) - (base["cpu_s"] - base_requests)
                r["beyond_requests_slope_ms"] = round(slope / (n - base_n) * 1000, 2)
    return out


def table(results: dict[str, Any]) -> str:
    rows = [("feeds", "run", "wall", "CPU", "CPU/feed", "beyond requests", "slope",
             "peak RSS", "requests")]  # fmt: skip
    for n, figures in results["sizes"].items():
        for name, r in figures.items():
            rows.append((
                n, name, f"{r['wall_s']:.1f} s", f"{r['cpu_s']:.1f} s",
                f"{r['cpu_s'] / int(n) * 1000:.1f} ms",
                f"{r['beyond_requests_ms']:.2f} ms" if "beyond_requests_ms" in r else "",
                f"{r['beyond_requests_slope_ms']:.2f} ms"
                if "beyond_requests_slope_ms" in r else "",
                f"{r['max_rss_mb']:.0f} MB", str(r.get("requests", "")),
            ))  # fmt: skip
    lines = text_table(rows)
    lines.append("")
    if results.get("baseline"):
        lines.append(f"baseline_recrawl: the re-crawl by the code of {results['baseline']}")
    lines.append(
        "beyond requests: (CPU - bare requests' CPU) / feeds; slope: the same from the "
        "smallest N (start-up left out)"
    )
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
    p.add_argument(
        "--baseline",
        default="",
        metavar="REV",
        help="also re-crawl with the code of this commit (e.g. 4eeb733)",
    )
    p.add_argument(
        "--baseline-max",
        type=int,
        default=10**9,
        metavar="N",
        help="the baseline at catalog sizes up to N only",
    )
    p.add_argument("-s", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                   help="a setting for every crawl")  # fmt: skip
    args = p.parse_args(argv)
    sizes = sorted(int(n) for n in args.feeds.split(",") if n.strip())
    extra = dict(s.split("=", 1) for s in args.settings)
    say = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    results = run(sizes, extra, args.baseline, args.baseline_max, say)
    print(table(results))
    write_results(results, "feeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
