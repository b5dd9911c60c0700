from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, cast

from scrapy.exceptions import UsageError

from crawler.commands import ScrapyCommand, feed_names
from crawler.ops.probe import ProbeSpider, capture_probe, probe_spider

if TYPE_CHECKING:
    from crawler.spiders.feed import FeedSpider


class Command(ScrapyCommand):
    requires_project = True

    def syntax(self) -> str:
        return "FEED"

    def short_desc(self) -> str:
        return (
            "Show what the crawler finds on a feed's first listing page and article, "
            "writing nothing"
        )

    def long_desc(self) -> str:
        return (
            "Fetch the feed's first listing page (or list API page) and its first "
            "article, and print what each selector or key found, the body before and "
            "after cleaning, and the post that would be written. Nothing is written to "
            "the mirror and nothing is remembered. Exits 1 when the listing yields no "
            "article or the article would be dropped, naming the selector or key."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--from-capture",
            metavar="INFOCODE",
            help="read that article from the raw capture (MIRROR_CAPTURE), not the network: "
            "what the crawler makes of it today",
        )

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        # The report is the output: only warnings in the log, unless -L/-s say otherwise.
        self.settings.set("LOG_LEVEL", "WARNING", priority="project")
        # A probe is no worker of a fleet: it takes no request of a shared queue.
        self.settings.set("REDIS_URL", "", priority="cmdline")
        # Nor does it keep what it fetches.
        self.settings.set("MIRROR_CAPTURE", False, priority="cmdline")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("probe takes one feed name")
        assert self.crawler_process
        loader = self.crawler_process.spider_loader
        (name,) = feed_names(args[0], loader.list())
        spidercls = loader.load(name)
        if opts.from_capture:
            assert self.settings is not None
            # The project's loader (crawler.spiderloader) makes every spider a FeedSpider.
            feed = cast("type[FeedSpider]", spidercls).feed
            text, ok = capture_probe(self.settings, feed, opts.from_capture)
            print(text)
            self.exitcode = 0 if ok else 1
            return
        crawler = self.crawler_process.create_crawler(probe_spider(spidercls))
        self.crawler_process.crawl(crawler)
        self.crawler_process.start()
        spider = crawler.spider
        assert isinstance(spider, ProbeSpider)
        print(spider.report.text())
        self.exitcode = 0 if spider.report.problem is None else 1
