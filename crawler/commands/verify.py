from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from scrapy.exceptions import UsageError

from crawler.commands import ScrapyCommand
from crawler.ops.verify import MirrorVerifier, capture_problems
from crawler.text import plural


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Check every post and category page of the mirror against the archive format"

    def long_desc(self) -> str:
        return (
            "Check MIRROR_DIR against the archive format: each post file in _posts/ and "
            "old_post/ reads as a post, is named for its date and infoCode, is byte for "
            "byte what the crawler writes, and keeps no unsafe markup; each infoCode is "
            "in one file only; each category has its page. Prints one line per problem, "
            "with its path, and exits with status 1 if there is any."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--jobs",
            "-j",
            type=int,
            default=0,
            metavar="N",
            help="processes checking files at once (default: one per CPU)",
        )
        parser.add_argument(
            "--capture",
            action="store_true",
            help="also check each post against the raw capture (MIRROR_CAPTURE): its records "
            "are there and their digests hold",
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}")
        if opts.jobs < 0:
            raise UsageError("--jobs must be 0 (one per CPU) or more", print_help=False)
        root = Path(self.settings.get("MIRROR_DIR"))
        if not root.is_dir():
            raise UsageError(f"no mirror at {root} (MIRROR_DIR)", print_help=False)
        verifier = MirrorVerifier(root, jobs=opts.jobs or os.cpu_count() or 1)
        started = time.monotonic()
        problems = verifier.problems()
        if opts.capture:
            found, backed = capture_problems(root)
            problems = sorted(problems + found)
        elapsed = time.monotonic() - started
        for problem in problems:
            print(f"{root / problem.path}: {problem.message}")
        files = len({p.path for p in problems})
        print(
            f"{plural(verifier.posts, 'post')}, "
            + (f"{plural(verifier.revisions, 'revision')}, " if verifier.revisions else "")
            + f"{plural(len(verifier.categories), 'category', 'categories')} checked in "
            f"{elapsed:.1f}s"
            + (f" ({backed} backed by their capture)" if opts.capture else "")
            + ": "
            + (
                f"{plural(len(problems), 'problem')} in {plural(files, 'file')}"
                if problems
                else "no problems"
            ),
            file=sys.stderr if problems else sys.stdout,
        )
        self.exitcode = 1 if problems else 0
