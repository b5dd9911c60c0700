#!/usr/bin/env python
"""How fast Scrapy itself fetches a backfill's pages here, in one process and in two.

``python bench/scrapy_ceiling.py [--articles 5000] [--per-page 20] [--latency 50]``

The backfill's pages (the feed's listing pages and its articles' share
pages, with robots.txt) are all known beforehand from the replica: no
discovery, no listing chain, nothing that waits but the network. A bare
Scrapy spider (a bare :class:`~scrapy.crawler.CrawlerProcess`, the settings
of ``bench/run.py``) fetches them, in one process with
``CONCURRENT_REQUESTS=32`` or in K processes started together, page *i*
going to process *i mod K*, each with 32/K (the same load on the source),
either reading nothing from the responses (*fetch*) or reading what
``bench/bare_scrapy.py`` reads (*parse*: a listing's share links, an
article's four fields), on Twisted's reactor (Scrapy's default, with its
HTTP/1.1 client) or with none (``TWISTED_REACTOR_ENABLED=False``: asyncio
and Scrapy's aiohttp download handler, which Scrapy 2.19 calls experimental
and not for production). Wall time is from the first process's launch to
the last one's exit; CPU is the processes' together, and the replica's
(which shares the host) beside it.

What it says: the least time any crawler built on Scrapy can take for the
backfill on this host, given how many processes share its engine's work,
beside the network bound (the trivial client's rate, ``bench/ceiling.py``)
and issue 15's 1.4 times it. Prints a table and writes the figures to
``bench/results/scrapy-ceiling-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from scrapy.crawler import AsyncCrawlerProcess, CrawlerProcess
from scrapy.http import Request, Response

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bare_scrapy import BareSpider
from bench.harness import (
    PROJECT_ROOT,
    BenchReplica,
    child_env,
    cpu_of,
    served,
    text_table,
    write_catalog,
    write_results,
)

PYTHON = sys.executable
ENGINE_MODES = ("fetch", "parse")
REACTORS = ("twisted", "none")


# --- One engine (a child process) ---------------------------------------------


class CeilingSpider(BareSpider):
    """Fetches the ``pages`` given (``(kind, URL)``); with ``reads``, reads
    what the bare spider reads: a listing's share links, an article's fields."""

    name = "ceiling"
    pages: list[list[str]]
    reads: bool

    async def start(self) -> AsyncIterator[Request]:
        for kind, url in self.pages:
            callback = self.listing if kind == "listing" else self.article
            yield Request(url, callback, dont_filter=True)

    def listing(self, response: Response) -> Iterator[dict[str, int]]:
        if self.reads:
            hrefs = response.css("a::attr(href)").getall()
            links = [h for h in hrefs if self.feed.share_link.search(response.urljoin(h.strip()))]
            yield {"links": len(links)}

    def article(self, response: Response) -> Iterator[dict[str, str | None]]:
        if self.reads:
            yield from self.parse_article(response)


def engine(argv: list[str]) -> int:
    """``engine CATALOG FEED PAGES_FILE SETTINGS_JSON PART PARTS MODE``: fetch
    the pages of PAGES_FILE (``listing URL`` or ``article URL`` lines) whose
    index is PART modulo PARTS; print one JSON line."""
    from crawler.source.catalog import load_catalog

    catalog, feed_name, pages_file, settings_json, part, parts, mode = argv
    lines = Path(pages_file).read_text("utf-8").splitlines()
    mine = [line.split(" ", 1) for i, line in enumerate(lines) if i % int(parts) == int(part)]
    attrs = {"feed": load_catalog(catalog)[feed_name], "pages": mine, "reads": mode == "parse"}
    settings = json.loads(settings_json)
    reactor = settings.get("TWISTED_REACTOR_ENABLED", True)
    process = (CrawlerProcess if reactor else AsyncCrawlerProcess)(settings)
    crawler = process.create_crawler(type("CeilingFeedSpider", (CeilingSpider,), attrs))
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    print(json.dumps({
        "responses": stats.get("response_received_count", 0),
        "items": stats.get("item_scraped_count", 0),
    }))  # fmt: skip
    return 0


# --- The measurement ------------------------------------------------------------


def pages_of(cfg: argparse.Namespace, replica_url: str, now: str) -> list[str]:
    """The backfill's pages, ``kind URL`` each: the listing pages as the
    replica names them, then the articles' share pages."""
    from replica import Replica, replica_catalog
    from replica.site import SHARE_PATH

    site = Replica(articles=cfg.articles, per_page=cfg.per_page, faults=False,
                   now=datetime.fromisoformat(now))  # fmt: skip
    first = replica_catalog(replica_url)["feeds"][cfg.feed]["start_urls"][0]
    count = site.source.pages(cfg.feed)
    listings = [first] + [first.replace(".html", f"_{n}.html") for n in range(2, count + 1)]
    articles = [f"{replica_url}{SHARE_PATH}?infoCode={code}" for code in site.info_codes(cfg.feed)]
    return [f"listing {url}" for url in listings] + [f"article {url}" for url in articles]


def run_engines(
    cfg: argparse.Namespace, parts: int, mode: str, reactor: str, catalog: Path, pages: Path,
    work: Path,
) -> dict[str, Any]:  # fmt: skip
    from bench.run import Config, bench_settings

    settings = {
        **bench_settings(Config(concurrency=cfg.concurrency)),
        "CONCURRENT_REQUESTS": cfg.concurrency // parts,
        "CONCURRENT_REQUESTS_PER_DOMAIN": cfg.concurrency // parts,
        "TELNETCONSOLE_ENABLED": False,
        "TWISTED_REACTOR_ENABLED": reactor == "twisted",
    }
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    procs = []
    for part in range(parts):
        argv = [PYTHON, str(Path(__file__).resolve()), "engine", str(catalog), cfg.feed,
                str(pages), json.dumps(settings), str(part), str(parts), mode]  # fmt: skip
        with (
            open(work / f"engine-{part}.out", "wb") as out,
            open(work / f"engine-{part}.err", "wb") as err,
        ):
            procs.append(subprocess.Popen(
                argv, cwd=PROJECT_ROOT, env=child_env(), stdout=out, stderr=err
            ))  # fmt: skip
    cpu = 0.0
    for proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu += usage.ru_utime + usage.ru_stime
    wall = time.perf_counter() - started
    outputs = []
    for part, proc in enumerate(procs):
        if proc.returncode:
            tail = (work / f"engine-{part}.err").read_text("utf-8", "replace")[-2000:]
            raise RuntimeError(f"engine {part} of {parts} exited {proc.returncode}:\n{tail}")
        lines = (work / f"engine-{part}.out").read_text("utf-8").splitlines()
        outputs.append(json.loads(lines[-1]))
    return {
        "engines": parts, "mode": mode, "reactor": reactor,
        "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
        "responses": sum(o["responses"] for o in outputs),
        "items": sum(o["items"] for o in outputs),
    }  # fmt: skip


def run(cfg: argparse.Namespace, say: Any = print, work_root: Path | None = None) -> dict[str, Any]:
    from bench.run import Config, ceiling, default_work_root

    now = datetime.now().astimezone().replace(second=0, microsecond=0).isoformat()
    work = Path(
        tempfile.mkdtemp(prefix="news-mirror-ceiling-", dir=work_root or default_work_root())
    )
    results: dict[str, Any] = {"config": vars(cfg), "runs": []}
    try:
        with BenchReplica(cfg.articles, cfg.per_page, cfg.latency, now) as replica:
            run_cfg = Config(articles=cfg.articles, per_page=cfg.per_page,
                             concurrency=cfg.concurrency, feed=cfg.feed)  # fmt: skip
            catalog = write_catalog(replica.url, cfg.feed, run_cfg.max_pages, work / "feeds.yaml")
            pages = work / "pages.txt"
            lines = pages_of(cfg, replica.url, now)
            pages.write_text("\n".join(lines), "utf-8")
            results["pages"] = len(lines)
            say(f"  the trivial client's rate at {cfg.latency:g} ms")
            rate = ceiling(run_cfg, replica, now, work)[f"connections_{cfg.concurrency}"]["per_s"]
            results["network_bound_s"] = round(len(lines) / rate, 2)
            kinds = [(r, n, m) for r in cfg.reactors for n in cfg.engines for m in cfg.modes]
            for i in range(cfg.repeat):  # in turn, so that noise falls on all
                for reactor, parts, mode in kinds:
                    say(f"  {parts} engine(s), {mode}, reactor {reactor} "
                        f"(run {i + 1}/{cfg.repeat})")  # fmt: skip
                    replica.reset()
                    served_from = cpu_of(replica.proc.pid)
                    figures = run_engines(cfg, parts, mode, reactor, catalog, pages,
                                          work / f"{reactor}-{parts}-{mode}-{i}")  # fmt: skip
                    figures.update(served(replica, served_from))
                    results["runs"].append(figures)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def table(results: dict[str, Any]) -> str:
    bound = results["network_bound_s"]
    head = ("reactor", "engines", "mode", "wall (runs)", "CPU, engines", "CPU, replica", "requests",
            "most in flight", "× network bound")  # fmt: skip
    rows = [head]
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for r in results["runs"]:
        groups.setdefault((r["reactor"], r["engines"], r["mode"]), []).append(r)
    for (reactor, parts, mode), runs in groups.items():
        walls = sorted(r["wall_s"] for r in runs)
        median = walls[len(walls) // 2]
        rows.append((
            reactor, str(parts), mode, f"{median:.2f} s ({', '.join(f'{w:.2f}' for w in walls)})",
            f"{sum(r['cpu_s'] for r in runs) / len(runs):.1f} s",
            f"{sum(r.get('replica_cpu_s', 0) for r in runs) / len(runs):.1f} s",
            str(runs[0]["requests"]), str(max(r["max_in_flight"] for r in runs)),
            f"{median / bound:.2f}",
        ))  # fmt: skip
    lines = text_table(rows)
    cfg = results["config"]
    lines.append("")
    lines.append(
        f"{results['pages']} pages at {cfg['latency']:g} ms, {cfg['concurrency']} at once in all; "
        f"network bound {bound:.2f} s (the trivial client's rate); issue 15's target, "
        f"1.4× it: {1.4 * bound:.2f} s; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python bench/scrapy_ceiling.py",
                                description=__doc__.split("\n\n")[0])  # fmt: skip
    p.add_argument("--articles", type=int, default=5000)
    p.add_argument("--per-page", type=int, default=20)
    p.add_argument("--latency", type=float, default=50, help="ms per response (50)")
    p.add_argument("--concurrency", type=int, default=32, help="in all, split between engines")
    p.add_argument("--engines", default="1,2", help="numbers of processes (1,2)")
    p.add_argument("--modes", default=",".join(ENGINE_MODES), help="fetch, parse or both")
    p.add_argument("--reactors", default=",".join(REACTORS),
                   help="twisted (the default), none (no reactor: aiohttp), or both")  # fmt: skip
    p.add_argument("--repeat", type=int, default=3, help="runs of each, in turn (3)")
    p.add_argument("--feed", default="kunmingribao")
    cfg = p.parse_args(argv)
    cfg.engines = [int(n) for n in cfg.engines.split(",")]
    cfg.modes = [m for m in cfg.modes.split(",") if m]
    cfg.reactors = [r for r in cfg.reactors.split(",") if r]
    if not set(cfg.modes) <= set(ENGINE_MODES):
        p.error(f"--modes: {', '.join(ENGINE_MODES)}")
    if not set(cfg.reactors) <= set(REACTORS):
        p.error(f"--reactors: {', '.join(REACTORS)}")
    return cfg


def main(argv: list[str]) -> int:
    if argv[:1] == ["engine"]:
        return engine(argv[1:])
    cfg = parse_args(argv)
    results = run(cfg, say=lambda msg: print(msg, file=sys.stderr, flush=True))
    print(table(results))
    write_results(results, "scrapy-ceiling")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
