"""The pipelines' CPU per article, this tree's against a baseline commit's, in one process.

    python bench/pipeline_cpu.py --baseline 4c3248c [--articles 2000]

It crawls the replica once (``--articles`` articles, no latency) with a
component that keeps each article as it reaches the pipelines, then runs the
validate, clean and write pipelines of the baseline and of this tree over
those articles, alternately article by article in one process (each going
first every other article), so that both see the same load. The figure is
each pipeline's thread CPU time per article, the median. The baseline's
``crawler`` package is exported with ``git archive`` and imported as
``baseline_crawler`` (its imports renamed).
Both write a mirror of their own; every post file must be byte-identical to
the crawl's, or the run fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import pickle
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import BenchReplica, export_tree, measure, scrapy, settings_args, write_catalog
from bench.probes import finished_now

NOW = "2026-12-01T03:30:00+00:00"
FEED = "kunmingribao"
STAGES = ("validate", "clean", "write")
BASELINE_PACKAGE = "baseline_crawler"


class KeepItems:
    """Keeps each item as it reaches the pipelines (``BENCH_ITEMS_FILE``, pickled)."""

    def __init__(self, path: str):
        self.path = path
        self.items: list[Any] = []

    @classmethod
    def from_crawler(cls, crawler: Any) -> KeepItems:
        return cls(crawler.settings.get("BENCH_ITEMS_FILE"))

    def process_item(self, item: Any) -> Any:
        self.items.append(dataclasses.replace(item))
        return item

    def close_spider(self) -> None:
        with open(self.path, "wb") as f:
            pickle.dump([dataclasses.asdict(i) for i in self.items], f)


def crawl_corpus(articles: int, work: Path) -> tuple[Path, Path, Path]:
    """The catalog, the kept articles and the crawl's mirror."""
    with BenchReplica(articles, 20, 0, NOW) as replica:
        catalog = write_catalog(replica.url, FEED, articles // 20 + 1, work / "feeds.yaml")
        items, mirror = work / "items.pickle", work / "crawl"
        pipelines = {
            "bench.pipeline_cpu.KeepItems": 50,
            "crawler.pipelines.validate.ValidatePipeline": 100,
            "crawler.pipelines.clean.CleanPipeline": 200,
            "crawler.pipelines.write.WritePipeline": 300,
        }
        settings = {
            "MIRROR_DIR": mirror, "NEWS_FEEDS_FILE": catalog, "MIRROR_NOW": NOW,
            "BENCH_ITEMS_FILE": items, "ITEM_PIPELINES": pipelines,
            "CONCURRENT_REQUESTS": 32, "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
            "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "LOG_LEVEL": "WARNING",
        }  # fmt: skip
        m = measure(scrapy("crawl", FEED, *settings_args(settings)), work / "logs")
        if m.returncode:
            raise SystemExit(f"the corpus crawl failed ({m.returncode}):\n{m.stderr[-2000:]}")
    return catalog, items, mirror


def export_baseline(rev: str, into: Path) -> None:
    """``rev``'s crawler package as ``baseline_crawler`` under ``into``."""
    export_tree(rev, into, "crawler")
    package = into / BASELINE_PACKAGE
    (into / "crawler").rename(package)
    name = re.compile(r"\b(from|import) crawler\b|\"crawler\.")
    for path in package.rglob("*.py"):
        text = path.read_text("utf-8")
        text = name.sub(
            lambda m: (
                f'"{BASELINE_PACKAGE}.' if m[0].startswith('"') else f"{m[1]} {BASELINE_PACKAGE}"
            ),
            text,
        )
        path.write_text(text, "utf-8")


class Pipelines:
    """One package's three pipelines on a crawler of their own, writing to ``mirror``."""

    def __init__(self, package: str, catalog: Path, mirror: Path):
        from scrapy.utils.test import get_crawler

        def module(name: str) -> Any:
            return importlib.import_module(f"{package}.{name}")

        defaults = module("settings")
        feeds = module("source.catalog").load_catalog(str(catalog), defaults.MIRROR_PINYIN)
        spidercls = module("spiderloader").spider_class(feeds[FEED])
        settings = {k: getattr(defaults, k) for k in dir(defaults) if k.isupper()}
        settings.update(
            MIRROR_DIR=str(mirror),
            NEWS_FEEDS_FILE=str(catalog),
            MIRROR_NOW=NOW,
            EXTENSIONS={},
            MIRROR_WORKERS=0,  # the work itself, in this process (a baseline ignores it)
            MEMUSAGE_ENABLED=False,  # never started: its engine_stopped would fail on close
        )
        self.crawler = crawler = get_crawler(spidercls, settings)
        crawler.spider = spidercls()
        self.article = module("items").Article
        self.fields = {f.name for f in dataclasses.fields(self.article)}
        self.stages = [
            module("pipelines.validate").ValidatePipeline(crawler),
            module("pipelines.clean").CleanPipeline(crawler),
            module("pipelines.write").WritePipeline(crawler),
        ]
        self.cpu: list[list[int]] = [[] for _ in self.stages]
        self.total: list[int] = []

    def run(self, record: dict[str, Any]) -> None:
        item = self.article(**{k: v for k, v in record.items() if k in self.fields})
        spent = 0
        for stage, cpu in zip(self.stages, self.cpu, strict=True):
            start = time.thread_time_ns()
            item = finished_now(stage.process_item(item))
            took = time.thread_time_ns() - start
            cpu.append(took)
            spent += took
        self.total.append(spent)

    def close(self) -> None:
        """What the pipelines opened (the dedup store, the revisit schedule)
        is given back when the engine stops, as in a crawl."""
        from scrapy import signals

        self.crawler.signals.send_catch_log(signals.engine_stopped)

    def medians(self) -> list[float]:
        return [statistics.median(x) / 1000 for x in (*self.cpu, self.total)]


def differing(expected: Path, got: Path) -> list[str]:
    names = sorted(os.listdir(expected))
    if names != sorted(os.listdir(got)):
        return ["(the sets of post files differ)"]
    return [n for n in names if (expected / n).read_bytes() != (got / n).read_bytes()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python bench/pipeline_cpu.py", description=__doc__.split("\n")[0]
    )
    p.add_argument("--baseline", required=True, help="the commit to compare with (e.g. 4c3248c)")
    p.add_argument("--articles", type=int, default=2000)
    args = p.parse_args(argv)
    work = Path(
        tempfile.mkdtemp(
            prefix="pipeline-cpu-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None
        )
    )
    try:
        catalog, items_file, crawled = crawl_corpus(args.articles, work)
        export_baseline(args.baseline, work / "baseline")
        sys.path.insert(0, str(work / "baseline"))
        with open(items_file, "rb") as f:
            records = pickle.load(f)
        systems = {
            f"baseline {args.baseline}": Pipelines(BASELINE_PACKAGE, catalog, work / "m-baseline"),
            "this tree": Pipelines("crawler", catalog, work / "m-tree"),
        }
        # Whichever runs an article second finds it in the CPU's caches (a
        # few percent): they take turns going first.
        order = list(systems.values())
        for record in records:
            for system in order:
                system.run(record)
            order.reverse()
        for system in systems.values():
            system.close()
        print(f"Pipeline CPU per article, median of {len(records)} replica articles (µs)")
        print(f"{'':22s}" + "".join(f"{s:>10s}" for s in (*STAGES, "total")))
        figures = {}
        for name, system in systems.items():
            figures[name] = system.medians()
            print(f"{name:22s}" + "".join(f"{v:10.0f}" for v in figures[name]))
        base, tree = figures.values()
        print(f"{'ratio':22s}" + "".join(f"{t / b:10.2f}" for b, t in zip(base, tree, strict=True)))
        print(f"load average {os.getloadavg()[0]:.2f}")
        failed = 0
        for name, mirror in (("baseline", "m-baseline"), ("this tree", "m-tree")):
            bad = differing(crawled / "_posts", work / mirror / "_posts")
            if bad:
                print(f"{name}: {len(bad)} post files differ from the crawl's, e.g. {bad[:3]}")
            else:
                print(f"{name}: all {len(records)} post files identical to the crawl's")
            failed += bool(bad)
        return 1 if failed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
