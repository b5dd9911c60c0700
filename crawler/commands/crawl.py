"""``scrapy crawl``: Scrapy's own command, under the mirror's run lock.

It takes the lock of ``MIRROR_DIR`` first (a crawl started while a scheduler
or another crawl runs exits with status 75, naming the holder) and records
the run in ``.mirror/runs.jsonl``; everything else is Scrapy's.
"""

from __future__ import annotations

import argparse

from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError

from crawler.commands import feed_results, prepare_crawl, recorded_run
from crawler.compat import CrawlCommand
from crawler.extensions.summary import FeedResult, RunProgress
from crawler.ops.logs import add_verbose_option


class Command(CrawlCommand):
    def __init__(self) -> None:
        super().__init__()
        self.crawlers: list[Crawler] = []
        self.progress: RunProgress | None = None

    def crawler_created(self, crawler: Crawler) -> None:
        self.crawlers.append(crawler)
        feeds = [crawler.spidercls.name]
        self.progress = RunProgress.attach([(crawler, feeds)])  # held: signals keep weak refs

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        add_verbose_option(parser)

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        prepare_crawl(self.settings, opts.verbose)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) == 1:  # an unknown feed: one line naming the catalog's, exit 2
            assert self.crawler_process
            known = self.crawler_process.spider_loader.list()
            if args[0] not in known:
                raise UsageError(
                    f"unknown feed: {args[0]}; the catalog has: {', '.join(known)}",
                    print_help=False,
                )

        def crawl() -> tuple[list[FeedResult], None] | None:
            super(Command, self).run(args, opts)
            if not self.crawlers:
                return None
            results = [r for c in self.crawlers for r in feed_results(c, [c.spidercls.name])]
            for result in results:  # as crawlall prints them (the log has them too)
                print(result.line())
            if any(r.failed for r in results):  # as crawlall: 1 if the feed failed
                self.exitcode = self.exitcode or 1
            return results, None

        recorded_run(self, "crawl", args[:1], crawl)
