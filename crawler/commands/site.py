from __future__ import annotations

import argparse
import sys

from scrapy.exceptions import UsageError

from crawler.commands import ScrapyCommand
from crawler.ops.site import SiteError, build_site


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "[-o DIR]"

    def short_desc(self) -> str:
        return "Build the mirror into a static site with a Chinese search index"

    def long_desc(self) -> str:
        return (
            "Build MIRROR_DIR into a static site: long category pages split into pages, "
            "then jekyll build, then the Pagefind search index (pagefind/ in the site) "
            "that the site's search box reads. Output: MIRROR_DIR/_site, or -o DIR. "
            "Exit status: 0, 1 if a step failed (the message says which and why)."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "-o",
            "--output",
            metavar="DIR",
            help="where to build the site (default: MIRROR_DIR/_site)",
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if args:
            raise UsageError(f"unexpected arguments: {' '.join(args)}", print_help=False)
        try:
            build = build_site(self.settings.get("MIRROR_DIR"), opts.output)
        except SiteError as e:
            print(f"error: {e}", file=sys.stderr)
            self.exitcode = 1
            return
        print(build.line())
