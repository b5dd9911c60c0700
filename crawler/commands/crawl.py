"""``scrapy crawl``: Scrapy's own command, under the mirror's run lock.

It takes the lock of ``MIRROR_DIR`` first (a crawl started while a scheduler
or another crawl runs exits with status 75, naming the holder) and records
the run in ``.mirror/runs.jsonl``; everything else is Scrapy's.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.crawler import Crawler
from scrapy.spiders import Spider

from crawler.commands import feed_results
from crawler.lock import EX_LOCKED, MirrorLocked, run_lock
from crawler.runlog import record_run
from crawler.storage import settings_storage_problem


class Command(ScrapyCrawlCommand):
    def __init__(self) -> None:
        super().__init__()
        self.crawlers: list[Crawler] = []

    def _create_crawler(self, spidercls: type[Spider] | str) -> Crawler:
        crawler = super()._create_crawler(spidercls)
        self.crawlers.append(crawler)
        return crawler

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        problem = settings_storage_problem(self.settings)  # read-only, full: say so, touch nothing
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            self.exitcode = 1
            return
        try:
            with run_lock(self.settings, "crawl"):
                start = datetime.now()
                super().run(args, opts)
                if self.crawlers:
                    results = feed_results(self.crawlers)
                    if any(r.failed for r in results):  # as crawlall: 1 if the feed failed
                        self.exitcode = self.exitcode or 1
                    record_run(
                        self.settings, "crawl", start,
                        results, self.exitcode,
                    )  # fmt: skip
        except MirrorLocked as e:
            print(e, file=sys.stderr)
            self.exitcode = EX_LOCKED
