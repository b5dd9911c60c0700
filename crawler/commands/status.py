from __future__ import annotations

import argparse
import sys

from scrapy.exceptions import UsageError

from crawler.addons.fleet import fleet_configured
from crawler.commands import ScrapyCommand, require_fleet_packages
from crawler.ops.status import MirrorStatus
from crawler.source.catalog import CatalogError, load_catalog


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Show the mirror's health: per feed, posts, last run, last new post, errors"

    def long_desc(self) -> str:
        return (
            "Show the mirror's health from its run history (.mirror/runs.jsonl) and "
            "folders: per feed, posts mirrored, last run, last new post, last error, "
            "and flags (FAILING, BACKING OFF, QUIET). Exit status 1 when something "
            "is flagged, else 0."
        )

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        require_fleet_packages(self.settings)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if args:
            raise UsageError("status takes no arguments", print_help=False)
        try:
            feeds = list(load_catalog(self.settings.get("NEWS_FEEDS_FILE") or None))
        except CatalogError as e:
            print(f"error: {e}", file=sys.stderr)
            self.exitcode = 2
            return
        try:
            status = MirrorStatus.from_settings(self.settings, feeds).collect()
        except ValueError as e:
            raise UsageError(str(e), print_help=False) from None
        print(status.render())
        self.exitcode = 1 if status.problems else 0
        if fleet_configured(self.settings):
            from crawler.fleet.status import fleet_status  # only a fleet needs Redis

            fleet = fleet_status(self.settings)
            print()
            print(fleet.render())
            if fleet.problems:
                self.exitcode = 1
