"""The mirror's commands (``COMMANDS_MODULE``), and what several of them share."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from datetime import datetime

from scrapy.commands import ScrapyCommand
from scrapy.crawler import Crawler, CrawlerProcessBase
from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings
from scrapy.utils.misc import load_object

from crawler.addons.fleet import prepare_fleet
from crawler.extensions.summary import FeedResult, RunProgress, feed_counters, feed_summary
from crawler.mirror.lock import EX_LOCKED, MirrorLocked, run_lock
from crawler.mirror.publish import GitPublisher
from crawler.mirror.revisits import parse_ages
from crawler.mirror.runlog import record_run
from crawler.mirror.storage import settings_storage_problem
from crawler.ops import logs
from crawler.ops.logs import start_log_file
from crawler.process import MirrorProcess
from crawler.text import plural


def feed_names(arg: str | None, known: list[str]) -> list[str]:
    """The feeds named by ``--feeds a,b`` (all when empty); UsageError for unknown ones."""
    if not arg:
        return list(known)
    names = [n.strip() for n in arg.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(
            f"unknown feed(s): {', '.join(unknown)}; the catalog has: {', '.join(known)}",
            print_help=False,
        )
    return names


def add_feeds_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--feeds", metavar="A,B", help="only these feeds of the catalog (default: all)"
    )


def crawl_feeds(process: CrawlerProcessBase, names: list[str]) -> list[FeedResult]:
    """Crawl ``names`` at once in ``process``, sharing one dedup state; their results.

    One crawler crawls them all (:meth:`crawler.spiderloader.CatalogSpiderLoader.feeds_spider`),
    unless ``MIRROR_CRAWLER_PER_FEED`` (a fleet's: scrapy-redis keeps one
    queue per spider) asks for a crawler per feed."""
    if process.settings.getbool("MIRROR_CRAWLER_PER_FEED"):
        runs = [(process.create_crawler(name), [name]) for name in names]
    else:
        loader = process.spider_loader
        spidercls = loader.feeds_spider(names)  # type: ignore[attr-defined]
        runs = [(process.create_crawler(spidercls), names)] if names else []
    crawlers = [crawler for crawler, _ in runs]
    progress = RunProgress.attach(runs)  # held here: signals keep weak references
    for crawler in crawlers:
        process.crawl(crawler)
    process.start()
    del progress
    return [result for crawler, feeds in runs for result in feed_results(crawler, feeds)]


def feed_results(crawler: Crawler, feeds: list[str]) -> list[FeedResult]:
    """The outcome of each of ``feeds`` crawled by ``crawler``, from its stats
    (``mirror/<feed>/…``, :mod:`crawler.perfeed`).

    A crawler that never closed its spider (a forced stop: a second Ctrl-C)
    has no ``finish_reason``: it was shut down, not finished."""
    reason = (crawler.stats.get_value("finish_reason") if crawler.stats else None) or "shutdown"
    return [
        feed_summary(feed, counters, reason)
        for feed, counters in feed_counters(crawler, feeds).items()
    ]


def run_summary(results: list[FeedResult]) -> str:
    """The run's summary line: ``6 feeds, 211 new posts`` (and the feeds that FAILED)."""
    new = sum(r.new for r in results)
    failed = [r.feed for r in results if r.failed]
    return f"{plural(len(results), 'feed')}, {plural(new, 'new post')}" + (
        f"; FAILED: {', '.join(failed)}" if failed else ""
    )


def print_results(results: list[FeedResult]) -> int:
    """Print one line per feed; the exit status: 1 if any feed failed outright."""
    for result in results:
        print(result.line())
    print(run_summary(results))
    return 1 if any(r.failed for r in results) else 0


def require_fleet_packages(settings: BaseSettings) -> None:
    """With ``REDIS_URL`` set: the settings made a fleet's
    (:func:`crawler.addons.fleet.prepare_fleet`), or, the fleet's packages
    missing, the install hint printed, one line before anything else, and exit 2."""
    problem = prepare_fleet(settings)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)


def prepare_crawl(settings: BaseSettings, verbose: bool) -> None:
    """What a crawling command does with its options, before Scrapy logs
    anything: the fleet's packages checked, quiet or verbose decided."""
    require_fleet_packages(settings)
    try:
        parse_ages(settings.get("MIRROR_REVISIT"))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    images = settings.get("MIRROR_IMAGES") or "remote"
    if images not in ("remote", "local"):
        print(f"error: MIRROR_IMAGES must be 'remote' or 'local', not {images!r}", file=sys.stderr)
        sys.exit(2)
    logs.prepare(settings, verbose)


__all__ = [
    "ScrapyCommand",
    "add_feeds_option",
    "crawl_feeds",
    "feed_names",
    "prepare_crawl",
    "print_results",
    "require_fleet_packages",
]  # fmt: skip


def not_crawled(
    command: ScrapyCommand, feeds: list[str], reason: str
) -> tuple[list[FeedResult], None]:
    """The feeds of a fleet that cannot work (``reason``), FAILED and printed as a crawl's."""
    results = [FeedResult(feed, failed=f"closed: {reason}", reason=reason) for feed in feeds]
    command.exitcode = print_results(results)
    return results, None


def publish(publisher: GitPublisher, results: list[FeedResult]) -> None:
    """One commit of what the run changed, its summary line as the subject;
    a failure is said on stderr (the next run commits or pushes it)."""
    published = publisher.publish(run_summary(results), "\n".join(r.line() for r in results))
    if published.error:
        print(f"error: {published.error}; the next run will try again", file=sys.stderr)


def recorded_run(
    command: ScrapyCommand,
    name: str,
    feeds: list[str],
    crawl: Callable[[], tuple[list[FeedResult], int | None] | None],
) -> None:
    """Run ``crawl`` of ``feeds`` as one run of the mirror: the folder must
    take files, the run lock is held (or the command exits 75, naming the
    holder), and the feed results and posts rotated that ``crawl`` returns
    are recorded in the run history with the command's exit status.

    A fleet's Redis that cannot be reached at the start, or a mirror folder
    lacking posts Redis records as mirrored (``FLEET_RESEED``), is said in
    one line; the feeds are then recorded as FAILED, not crawled."""
    settings = command.settings
    assert settings is not None
    try:
        publisher = GitPublisher.from_settings(settings)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        command.exitcode = 2
        return
    problem = settings_storage_problem(settings)  # read-only, full: say so, touch nothing
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        command.exitcode = 1
        return
    start_log_file(settings)
    check = settings.get("MIRROR_RUN_CHECK")  # a fleet's: Redis reachable (crawler.addons.fleet)
    stopped = load_object(check)(settings) if check else None
    if stopped:
        message, reason = stopped
        print(f"error: {message}", file=sys.stderr)
        crawl = functools.partial(not_crawled, command, feeds, reason)
    try:
        with run_lock(settings, name), MirrorProcess.opened(settings):
            start = datetime.now()
            outcome = crawl()
            if outcome is not None:
                results, rotated = outcome
                record_run(settings, name, start, results, command.exitcode, rotated)
                if publisher is not None:  # under the run lock (SPEC §10)
                    publish(publisher, results)
    except MirrorLocked as e:
        print(e, file=sys.stderr)
        command.exitcode = EX_LOCKED
