from __future__ import annotations

import argparse
import sys

from scrapy.exceptions import UsageError
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings
from scrapy.utils.log import configure_logging

from crawler.commands import ScrapyCommand, add_feeds_option, feed_names, require_fleet_packages
from crawler.mirror.lock import EX_LOCKED, MirrorLocked, run_lock
from crawler.ops.scheduler import Scheduler, child_command, parse_duration
from crawler.source.catalog import CatalogError, load_catalog


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "--every INTERVAL [options]"

    def short_desc(self) -> str:
        return "Run crawlall every INTERVAL (5m, 1h, …) until stopped"

    def long_desc(self) -> str:
        return (
            "Run `scrapy crawlall` every INTERVAL in one long-lived process, each run "
            "a child process, never two at once, until SIGINT/SIGTERM (or --max-runs). "
            "Holds the mirror's run lock meanwhile: another schedule or crawl on the "
            f"same MIRROR_DIR exits with status {EX_LOCKED}. Feeds that keep failing "
            "back off (MIRROR_BACKOFF_MAX)."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--every", metavar="INTERVAL", required=True,
            help="time from the start of one run to the next: 90, 30s, 5m, 1h",
        )  # fmt: skip
        parser.add_argument(
            "--jitter", metavar="DURATION", default="0",
            help="start each run up to this much later, at random (default: 0)",
        )  # fmt: skip
        parser.add_argument(
            "--max-runs", metavar="N", type=int, default=None,
            help="stop after N runs (default: run until stopped)",
        )  # fmt: skip
        add_feeds_option(parser)

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        require_fleet_packages(self.settings)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        settings = self.settings
        if args:
            raise UsageError("schedule takes no arguments, only options", print_help=False)
        try:
            every, jitter = parse_duration(opts.every), parse_duration(opts.jitter)
        except ValueError as e:
            raise UsageError(str(e), print_help=False) from None
        if every <= 0:
            raise UsageError("--every must be more than 0", print_help=False)
        if opts.max_runs is not None and opts.max_runs < 1:
            raise UsageError("--max-runs must be at least 1", print_help=False)
        catalog_path = settings.get("NEWS_FEEDS_FILE") or None
        try:
            chosen = feed_names(opts.feeds, list(load_catalog(catalog_path)))
        except CatalogError as e:
            print(f"error: {e}", file=sys.stderr)
            self.exitcode = 2
            return

        def feeds() -> list[str]:
            # The catalog as it is now: feeds added meanwhile are crawled too.
            try:
                known = list(load_catalog(catalog_path))
            except CatalogError:
                return chosen  # the child says what is wrong with the catalog
            return [n for n in chosen if n in known] if opts.feeds else known

        configure_logging(settings)
        try:
            with run_lock(settings, "schedule") as lock:
                scheduler = Scheduler(
                    child_command(["crawlall", *cmdline_settings(settings)]),
                    settings.get("MIRROR_DIR"),
                    every=every,
                    jitter=jitter,
                    max_runs=opts.max_runs,
                    feeds=feeds,
                    explicit_feeds=bool(opts.feeds),
                    backoff_max=settings.getfloat("MIRROR_BACKOFF_MAX"),
                    lock=lock,
                    fleet=settings.getbool("MIRROR_SHARED_TICKS"),
                )
                self.exitcode = scheduler.run()
        except MirrorLocked as e:
            print(e, file=sys.stderr)
            self.exitcode = EX_LOCKED


def cmdline_settings(settings: BaseSettings) -> list[str]:
    """``-s NAME=VALUE`` for every setting given on this command line
    (``-s``, ``-L``, ``--logfile``, ``--nolog``), for the runs to use."""
    out: list[str] = []
    for name, value in settings.items():
        if settings.getpriority(name) == SETTINGS_PRIORITIES["cmdline"]:
            out += ["-s", f"{name}={value}"]
    return out
