from __future__ import annotations

import argparse
import sys
from datetime import date

from scrapy.exceptions import UsageError

from crawler.commands import ScrapyCommand, add_feeds_option, feed_names
from crawler.mirror.lock import EX_LOCKED, MirrorLocked, run_lock
from crawler.ops.rebuild import Rebuild
from crawler.source.catalog import CatalogError, load_catalog


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "[--feeds A,B] [--since YYYY-MM-DD]"

    def short_desc(self) -> str:
        return "Re-derive the posts from the raw capture, with no request to the source"

    def long_desc(self) -> str:
        return (
            "Read each captured post's listing and article responses again "
            "(MIRROR_CAPTURE, .mirror/capture/) with the current catalog and cleaner: "
            "posts that come out the same are not touched, changed ones are rewritten "
            "atomically, missing ones written again. Prints how many changed and why "
            "(by cleaning rule). Requests nothing."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        add_feeds_option(parser)
        parser.add_argument(
            "--since", metavar="YYYY-MM-DD", help="only posts published on or after this day"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        since = None
        if opts.since:
            try:
                since = date.fromisoformat(opts.since)
            except ValueError:
                raise UsageError(
                    f"--since {opts.since!r} is not a day (YYYY-MM-DD)", print_help=False
                ) from None
        try:
            catalog = load_catalog(
                self.settings.get("NEWS_FEEDS_FILE") or None, self.settings.get("MIRROR_PINYIN")
            )
        except CatalogError as e:
            print(f"error: {e}", file=sys.stderr)
            self.exitcode = 2
            return
        feeds = feed_names(opts.feeds, list(catalog)) if opts.feeds else None
        try:
            rebuild = Rebuild(self.settings, catalog)
        except ValueError as e:  # MIRROR_REVISIT: whether to keep revisions
            print(f"error: {e}", file=sys.stderr)
            self.exitcode = 2
            return
        try:
            with run_lock(self.settings, "rebuild"):
                result = rebuild.run(feeds, since)
        except MirrorLocked as e:
            print(e, file=sys.stderr)
            self.exitcode = EX_LOCKED
            return
        except OSError as e:
            print(
                f"error: rebuild of {self.settings.get('MIRROR_DIR')} failed: {e}", file=sys.stderr
            )
            self.exitcode = 1
            return
        for line in result.lines():
            print(line)
        self.exitcode = 1 if result.unreadable else 0
