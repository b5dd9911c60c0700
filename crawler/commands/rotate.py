from __future__ import annotations

import argparse
import sys

from scrapy.exceptions import UsageError

from crawler.commands import ScrapyCommand
from crawler.mirror.lock import EX_LOCKED, MirrorLocked, run_lock
from crawler.mirror.rotation import Rotation
from crawler.source.catalog import CatalogError


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Move posts older than MIRROR_KEEP_DAYS from _posts/ to old_post/"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if args:
            raise UsageError("rotate takes no arguments")
        try:
            rotation = Rotation.from_settings(self.settings)
        except CatalogError as e:
            print(f"error: {e}", file=sys.stderr)
            self.exitcode = 2
            return
        except ValueError as e:
            raise UsageError(str(e), print_help=False) from None
        try:
            with run_lock(self.settings, "rotate"):
                result = rotation.rotate()
        except MirrorLocked as e:
            print(e, file=sys.stderr)
            self.exitcode = EX_LOCKED
            return
        except OSError as e:
            print(f"error: rotation of {rotation.root} failed: {e}", file=sys.stderr)
            self.exitcode = 1
            return
        print(result.line(rotation.keep_days))
