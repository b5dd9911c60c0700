"""``scrapy writer``: on the mirror's host, write the posts a fleet hands over through Redis."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from scrapy.exceptions import UsageError
from scrapy.utils.log import configure_logging

from crawler.addons.fleet import fleet_configured
from crawler.commands import ScrapyCommand, require_fleet_packages
from crawler.text import plural

logger = logging.getLogger(__name__)


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "[--once]"

    def short_desc(self) -> str:
        return "Write the posts fleet workers hand over through Redis (MIRROR_WRITE=redis)"

    def long_desc(self) -> str:
        return (
            "Run on the host that holds MIRROR_DIR when fleet workers elsewhere have no "
            "access to it (they set MIRROR_WRITE=redis). Records the mirror's posts in "
            "REDIS_URL, then writes each handed-over post into the mirror, atomically and "
            "once, until SIGINT/SIGTERM; --once writes what is waiting and exits. Exit "
            "status 1 when Redis cannot be reached."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--once", action="store_true", help="write what is waiting, then exit")

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        require_fleet_packages(self.settings)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if args:
            raise UsageError("writer takes no arguments, only options", print_help=False)
        if not fleet_configured(self.settings):
            raise UsageError("writer needs REDIS_URL (-s REDIS_URL=redis://…)", print_help=False)
        configure_logging(self.settings)
        from crawler.fleet.connection import FleetUnavailable  # only a fleet needs Redis
        from crawler.fleet.writer import PostWriter

        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        writer = PostWriter.from_settings(self.settings)
        try:
            writer.start()
            logger.info(
                "Writer %s started: posts handed over at %s go to %s",
                writer.worker.id,
                writer.worker.where,
                writer.root,
            )
            writer.run(stop, once=opts.once)
        except FleetUnavailable as e:
            print(f"error: {e}", file=sys.stderr)
            self.exitcode = 1
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            writer.close()
        print(
            f"{plural(writer.written, 'post')} written, {writer.known} already mirrored"
            + (f", {writer.rejected} rejected" if writer.rejected else "")
        )
