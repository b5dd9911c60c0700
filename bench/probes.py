"""Scrapy components the benchmark switches on with ``-s``; never in production.

:class:`Timeline` records when a crawl sent its first request, when listing
pages and items arrived, and writes that as JSON when the spider closes
(``BENCH_TIMELINE_FILE``). :class:`TimedPipelines` stands in for
``ITEM_PIPELINES``: it runs the project's pipelines in their order and
measures the CPU time (of the crawl's thread) each one takes per item,
written as JSON to ``BENCH_PIPELINE_FILE``: of an asynchronous one, the time
of its own steps, not of what runs while it waits (a worker process's job).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.http import Response
from scrapy.utils.misc import build_from_crawler, load_object

LISTING_CALLBACK = "parse_listing"  # the listing callback of ours and of the bare spider


class Timeline:
    def __init__(self, crawler: Crawler, path: str):
        self.path = Path(path)
        self.opened = 0.0
        self.first_request = 0.0
        self.listings: list[float] = []
        self.items: list[float] = []
        self.dropped = 0
        self.responses = 0
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.request_reached, signal=signals.request_reached_downloader)
        crawler.signals.connect(self.response_received, signal=signals.response_received)
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(self.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Timeline:
        path = crawler.settings.get("BENCH_TIMELINE_FILE")
        if not path:
            raise NotConfigured("BENCH_TIMELINE_FILE is not set")
        return cls(crawler, path)

    def spider_opened(self, **kwargs: Any) -> None:
        self.opened = time.time()

    def request_reached(self, request: Request, **kwargs: Any) -> None:
        if not self.first_request:
            self.first_request = time.time()

    def response_received(self, response: Response, request: Request, **kwargs: Any) -> None:
        self.responses += 1
        callback = getattr(request.callback, "__name__", "")
        if callback == LISTING_CALLBACK:
            self.listings.append(time.time())

    def item_scraped(self, item: Any, **kwargs: Any) -> None:
        self.items.append(time.time())

    def item_dropped(self, item: Any, **kwargs: Any) -> None:
        self.dropped += 1

    def spider_closed(self, reason: str, **kwargs: Any) -> None:
        closed = time.time()
        self.path.write_text(json.dumps({
            "opened": self.opened,
            "first_request": self.first_request,
            "first_listing": self.listings[0] if self.listings else None,
            "last_listing": self.listings[-1] if self.listings else None,
            "listing_responses": len(self.listings),
            "responses": self.responses,
            "first_item": self.items[0] if self.items else None,
            "last_item": self.items[-1] if self.items else None,
            "items": len(self.items),
            "dropped": self.dropped,
            "closed": closed,
            "reason": reason,
            # This process's own, without the worker processes' (crawler.offload).
            "process_cpu_s": round(time.process_time(), 3),
        }))  # fmt: skip


class TimedPipelines:
    """The pipelines of ``BENCH_TIMED_PIPELINES`` (default: the project's), timed."""

    def __init__(self, crawler: Crawler, pipelines: dict[str, int], path: str):
        self.crawler = crawler
        self.path = Path(path)
        self.stages: list[tuple[str, Any]] = []
        for name in sorted(pipelines, key=lambda n: pipelines[n]):
            cls = load_object(name)
            try:
                stage = build_from_crawler(cls, crawler)
            except NotConfigured:
                continue  # off, as Scrapy would leave it (e.g. MIRROR_IMAGES=remote)
            self.stages.append((cls.__name__, stage))
        self.samples: dict[str, list[int]] = defaultdict(list)
        self.totals: list[int] = []
        self.dropped = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TimedPipelines:
        path = crawler.settings.get("BENCH_PIPELINE_FILE")
        if not path:
            raise NotConfigured("BENCH_PIPELINE_FILE is not set")
        pipelines = crawler.settings.getdict("BENCH_TIMED_PIPELINES")
        if not pipelines:
            from crawler import settings as project

            pipelines = dict(project.ITEM_PIPELINES)
        return cls(crawler, {k: int(v) for k, v in pipelines.items() if v is not None}, path)

    def open_spider(self) -> None:
        self._call_each("open_spider")

    def close_spider(self) -> None:
        self._call_each("close_spider")
        self.path.write_text(json.dumps(self.summary()))

    def _call_each(self, method: str) -> None:
        for _, stage in self.stages:
            hook = getattr(stage, method, None)
            if hook is None:
                continue
            takes_spider = bool(inspect.signature(hook).parameters)
            result = hook(self.crawler.spider) if takes_spider else hook()
            if inspect.isawaitable(result):
                raise NotConfigured(f"{type(stage).__name__}.{method} is asynchronous")

    async def process_item(self, item: Any) -> Any:
        total = 0
        for name, stage in self.stages:
            clock = StepClock()
            try:
                item = await clock.run(stage.process_item, item)
            except DropItem:
                self.dropped += 1
                raise
            finally:
                self.samples[name].append(clock.spent)
                total += clock.spent
        self.totals.append(total)
        return item

    def summary(self) -> dict[str, Any]:
        stages = {name: describe_ns(self.samples[name]) for name, _ in self.stages}
        return {"items": len(self.totals), "dropped": self.dropped,
                "total": describe_ns(self.totals), "stages": stages}  # fmt: skip


def describe_ns(samples: list[int]) -> dict[str, float]:
    """Median, p99, mean and max of nanosecond samples, in microseconds."""
    if not samples:
        return {"n": 0, "median_us": 0.0, "p99_us": 0.0, "mean_us": 0.0, "max_us": 0.0}
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "n": len(ordered),
        "median_us": statistics.median(ordered) / 1000,
        "p99_us": p99 / 1000,
        "mean_us": statistics.fmean(ordered) / 1000,
        "max_us": ordered[-1] / 1000,
    }


class StepClock:
    """The CPU time (of this thread) a call takes and, of a coroutine it
    returns, that of its own steps: not what runs while it waits for a future."""

    def __init__(self) -> None:
        self.spent = 0  # nanoseconds, kept when the call raises

    async def run(self, call: Callable[..., Any], *args: Any) -> Any:
        start = time.thread_time_ns()
        try:
            result = call(*args)
        finally:
            self.spent += time.thread_time_ns() - start
        if not inspect.iscoroutine(result):
            return result
        while True:
            start = time.thread_time_ns()
            try:
                waited = result.send(None)
            except StopIteration as done:
                return done.value
            finally:
                self.spent += time.thread_time_ns() - start
            if waited is None:  # a bare yield to the loop
                await asyncio.sleep(0)
            else:  # the future it yielded: wait for it here; resumed, it reads its result
                await asyncio.wait([waited])


def finished_now(result: Any) -> Any:
    """``result``, or the value of a coroutine that finishes without waiting
    (an asynchronous pipeline whose job runs in this process)."""
    if not inspect.iscoroutine(result):
        return result
    try:
        result.send(None)
    except StopIteration as done:
        return done.value
    result.close()
    raise RuntimeError("the pipeline waited: run it with MIRROR_WORKERS=0")
