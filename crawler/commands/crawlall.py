from __future__ import annotations

import argparse

from crawler.commands import ScrapyCommand, add_feeds_option, crawl_feeds, feed_names, print_results


class Command(ScrapyCommand):
    requires_project = True

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Crawl every feed of the catalog (or --feeds) in one process"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        add_feeds_option(parser)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.crawler_process
        names = feed_names(opts.feeds, self.crawler_process.spider_loader.list())
        self.exitcode = print_results(crawl_feeds(self.crawler_process, names))
