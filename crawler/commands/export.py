"""``scrapy export``: the mirror's posts as JSON Lines (:mod:`crawler.ops.export`)."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scrapy.exceptions import UsageError

from crawler.commands import ScrapyCommand
from crawler.mirror.archive import FormatError
from crawler.mirror.reader import parse_bound
from crawler.ops.export import FOLDER_CHOICES, Export, export_posts, unknown_categories


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Write the mirror's posts as JSON Lines (to stdout or a file)"

    def long_desc(self) -> str:
        return (
            "Write the posts of MIRROR_DIR (_posts/ and old_post/) as JSON Lines, one "
            "object a line: infoCode, title, date (ISO 8601), category, outlet, body "
            "(HTML), share_url, path (relative to MIRROR_DIR), revisions (how many earlier "
            "versions _revisions/ keeps). --revisions adds a line per earlier version after "
            "its post, with revision (1: the first fetched) and superseded (ISO 8601). "
            "A date alone in --since or --until stands for its whole day; --until is "
            "exclusive of a time."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "-o",
            "--output",
            metavar="FILE",
            default="-",
            help="write to FILE (default: -, stdout)",
        )
        parser.add_argument(
            "--category", metavar="A,B", help="only these categories (default: all)"
        )
        parser.add_argument(
            "--since", metavar="WHEN", help="only posts published at or after WHEN (ISO 8601)"
        )
        parser.add_argument(
            "--until", metavar="WHEN", help="only posts published before WHEN (ISO 8601)"
        )
        parser.add_argument(
            "--timezone",
            metavar="TZ",
            default="Asia/Shanghai",
            help="time zone of --since/--until without an offset (default: Asia/Shanghai)",
        )
        parser.add_argument(
            "--revisions",
            action="store_true",
            help="also write each post's earlier versions (_revisions/), after the post",
        )
        parser.add_argument(
            "--folder",
            choices=sorted(FOLDER_CHOICES),
            default="all",
            help="posts (_posts/), old (old_post/) or all (default)",
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        try:
            tz = ZoneInfo(opts.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(
                f"--timezone: {opts.timezone!r} is not a time zone", print_help=False
            ) from None
        try:
            since = parse_bound(opts.since, tz) if opts.since else None
            until = parse_bound(opts.until, tz, end=True) if opts.until else None
        except ValueError as e:
            raise UsageError(f"--since/--until: {e}", print_help=False) from None
        categories = [c.strip() for c in (opts.category or "").split(",") if c.strip()] or None
        root = Path(self.settings.get("MIRROR_DIR"))
        if not root.is_dir():
            raise UsageError(f"no mirror at {root} (MIRROR_DIR)", print_help=False)

        def skip(error: FormatError) -> None:
            print(f"Skipped {error}", file=sys.stderr)

        done = Export()
        with ExitStack() as stack:
            out: IO[str]
            if opts.output == "-":
                out = open(sys.stdout.fileno(), "w", encoding="utf-8", closefd=False)  # noqa: SIM115
                stack.enter_context(out)
            else:
                out = stack.enter_context(open(opts.output, "w", encoding="utf-8", newline="\n"))
            try:
                export_posts(
                    root, out, categories, since, until, opts.folder, skip, done, opts.revisions
                )
            except BrokenPipeError:  # `scrapy export | head`: the reader has had enough
                os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
                return
        for warning in unknown_categories(root, categories, done):
            print(f"Warning: {warning}", file=sys.stderr)
        print(done.summary("stdout" if opts.output == "-" else opts.output), file=sys.stderr)
        self.exitcode = 1 if done.bad else 0
