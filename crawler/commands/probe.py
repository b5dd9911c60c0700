from __future__ import annotations

import argparse

from scrapy.exceptions import UsageError

from crawler.commands import ScrapyCommand, feed_names
from crawler.ops.probe import ProbeSpider, probe_spider


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

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        # The report is the output: only warnings in the log, unless -L/-s say otherwise.
        self.settings.set("LOG_LEVEL", "WARNING", priority="project")
        # A probe is no worker of a fleet: it takes no request of a shared queue.
        self.settings.set("REDIS_URL", "", priority="cmdline")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("probe takes one feed name")
        assert self.crawler_process
        loader = self.crawler_process.spider_loader
        (name,) = feed_names(args[0], loader.list())
        crawler = self.crawler_process.create_crawler(probe_spider(loader.load(name)))
        self.crawler_process.crawl(crawler)
        self.crawler_process.start()
        spider = crawler.spider
        assert isinstance(spider, ProbeSpider)
        print(spider.report.text())
        self.exitcode = 0 if spider.report.problem is None else 1
