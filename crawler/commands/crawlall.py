from __future__ import annotations

import argparse
import logging

from crawler.commands import (
    ScrapyCommand,
    add_feeds_option,
    crawl_feeds,
    feed_names,
    prepare_crawl,
    print_results,
    recorded_run,
)
from crawler.extensions.summary import FeedResult
from crawler.mirror.lock import EX_LOCKED
from crawler.mirror.rotation import Rotation
from crawler.ops.logs import add_verbose_option

logger = logging.getLogger(__name__)


class Command(ScrapyCommand):
    requires_project = True

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Crawl every feed of the catalog (or --feeds) in one process"

    def long_desc(self) -> str:
        return (
            "Crawl every feed of the catalog (or --feeds) in one process, then move "
            "posts older than MIRROR_KEEP_DAYS to old_post/ and record the run in "
            ".mirror/runs.jsonl. Exit status: 0, 1 if a feed failed outright, "
            f"{EX_LOCKED} if another run holds the mirror's lock."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        add_feeds_option(parser)
        add_verbose_option(parser)

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        prepare_crawl(self.settings, opts.verbose)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.crawler_process and self.settings is not None
        names = feed_names(opts.feeds, self.crawler_process.spider_loader.list())
        process = self.crawler_process

        def crawl() -> tuple[list[FeedResult], int | None]:
            results = crawl_feeds(process, names)
            self.exitcode = print_results(results)
            return results, self.rotate()

        recorded_run(self, "crawlall", names, crawl)

    def rotate(self) -> int | None:
        """Retention after the run (SPEC §3.4); the number of posts moved."""
        assert self.settings is not None
        try:
            result = Rotation.from_settings(self.settings).rotate()
        except (OSError, ValueError) as e:
            logger.error("Rotation of %s failed: %s", self.settings.get("MIRROR_DIR"), e)
            self.exitcode = self.exitcode or 1
            return None
        print(result.line(self.settings.getint("MIRROR_KEEP_DAYS")))
        return result.moved
