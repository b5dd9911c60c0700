from __future__ import annotations

import argparse
from pathlib import Path

from scrapy.crawler import AsyncCrawlerProcess
from scrapy.settings import SETTINGS_PRIORITIES

from crawler.commands import ScrapyCommand, crawl_feeds, print_results, recorded_run
from crawler.extensions.summary import FeedResult
from crawler.mirror.archive import CATEGORY_DIR, POSTS_DIR, FormatError, Post, read
from crawler.mirror.paths import DEMO_CATALOG_FILE, STATE_DIR
from crawler.ops import logs
from crawler.ops.logs import add_verbose_option
from crawler.source.catalog import default_catalog_path
from crawler.text import plural
from replica import Replica, write_replica_catalog


def newest_post(paths: list[Path]) -> Post | None:
    """The post published last among the files at ``paths`` (not the last written)."""
    posts = []
    for path in paths:
        try:
            posts.append(read(path))
        except (OSError, FormatError):
            continue  # scrapy verify names it
    return max(posts, key=lambda p: p.date, default=None)


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Crawl every shipped feed from the bundled replica of the source (on 127.0.0.1)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--articles", type=int, default=40, help="articles per feed in the replica"
        )
        add_verbose_option(parser)

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        logs.prepare(self.settings, opts.verbose)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        root = Path(self.settings.get("MIRROR_DIR"))
        catalog = root / STATE_DIR / DEMO_CATALOG_FILE
        with Replica(articles=opts.articles) as replica:
            print(f"Serving the replica of the source at {replica.url}")
            catalog.parent.mkdir(parents=True, exist_ok=True)
            # The shipped catalog: the real source's endpoints, on the replica.
            write_replica_catalog(replica.url, str(catalog), default_catalog_path())
            self.settings.set("NEWS_FEEDS_FILE", str(catalog), priority="cmdline")
            if (self.settings.getpriority("MIRROR_BASE_URL") or 0) < SETTINGS_PRIORITIES["cmdline"]:
                # The demo's site links to itself, not to the public mirror.
                self.settings.set("MIRROR_BASE_URL", "", priority="cmdline")
            process = AsyncCrawlerProcess(self.settings)
            names = process.spider_loader.list()

            def crawl() -> tuple[list[FeedResult], None]:
                results = crawl_feeds(process, names)
                self.exitcode = print_results(results)
                return results, None

            # Recorded like any run: `scrapy status` shows it.
            recorded_run(self, "demo", names, crawl)
        if self.exitcode not in (0, 1):
            return  # the folder takes no files, or another run holds it: said
        posts = sorted((root / POSTS_DIR).glob("*.md"))
        categories = sorted(p.stem for p in (root / CATEGORY_DIR).glob("*.html"))
        print(
            f"The mirror is in {root.resolve()}: {plural(len(posts), 'post')} in {POSTS_DIR}/, "
            f"category pages for {', '.join(categories) or 'none'}."
        )
        newest = newest_post(posts)
        if newest is not None:
            print(f"Newest file: {newest.path} (the newest post, published {newest.date})")
