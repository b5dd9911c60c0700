"""Quiet by default, detailed on demand: where a crawl's log goes.

A person at a terminal wants one progress line per interval and one summary
line per feed, not Scrapy's hundreds of lines of stats. Unless the command
line asks for Scrapy's log (``-L``/``--loglevel``, ``--verbose``,
``-s LOG_LEVEL=…``, ``--logfile``/``-s LOG_FILE=…``, ``--nolog``), a crawl is
*quiet*: Scrapy's own handler on stderr only shows CRITICAL records, one
progress line for all the feeds of the run
(:class:`crawler.extensions.summary.RunProgress`) is printed to stderr every
interval and the summary lines to stdout by the commands.

Either way the whole log (``MIRROR_LOG_FILE_LEVEL``, INFO) goes to
``<MIRROR_DIR>/.mirror/logs/crawl.log``, rotated by size
(``MIRROR_LOG_MAX_BYTES``, ``MIRROR_LOG_BACKUPS``; 0 bytes: no log file).
The records logged before the folder is known to take files (Scrapy's
first lines) wait in memory; a run that stops before (a bad catalog, an
unknown feed, a read-only folder) writes no log file.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from logging.handlers import MemoryHandler, RotatingFileHandler
from pathlib import Path
from typing import TypeVar

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from crawler.mirror.paths import LOG_NAME, LOGS_DIR, STATE_DIR

_H = TypeVar("_H", bound=logging.Handler)

QUIET = "MIRROR_QUIET"  # set by prepare(): the terminal gets no log records
_FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"


def add_verbose_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verbose", action="store_true",
        help="Scrapy's log on stderr, as -L INFO (default: progress and summary lines only)",
    )  # fmt: skip


def log_path(settings: BaseSettings) -> Path:
    return Path(settings.get("MIRROR_DIR")) / STATE_DIR / LOGS_DIR / LOG_NAME


def prepare(settings: BaseSettings, verbose: bool = False) -> None:
    """Decide quiet or not from the command line, before Scrapy sets its
    logging up; keep the records from then on until :func:`start_log_file`."""
    cmdline = SETTINGS_PRIORITIES["cmdline"]
    if verbose:
        settings.set("LOG_ENABLED", True, priority="cmdline")
        settings.set("LOG_LEVEL", "INFO", priority="cmdline")
    asked = any(
        (settings.getpriority(name) or 0) >= cmdline
        for name in ("LOG_LEVEL", "LOG_FILE", "LOG_ENABLED")
    )
    quiet = not asked
    settings.set(QUIET, quiet, priority="cmdline")
    if quiet:  # over the project's LOG_LEVEL: as if given on the command line
        settings.set("LOG_LEVEL", "CRITICAL", priority="cmdline")
    if settings.getint("MIRROR_LOG_MAX_BYTES") > 0 and not _find(EarlyRecords):
        # Scrapy's first lines come before the mirror folder is known to take files.
        early = EarlyRecords()
        early.setLevel(settings.get("MIRROR_LOG_FILE_LEVEL"))
        logging.root.addHandler(early)
        if logging.root.level > early.level:  # Python's WARNING, before Scrapy's setup
            logging.root.setLevel(early.level)


class EarlyRecords(MemoryHandler):
    """The records logged before the log file can be opened, for it."""

    def __init__(self) -> None:
        super().__init__(capacity=100_000, flushLevel=logging.CRITICAL + 1)

    def shouldFlush(self, record: logging.LogRecord) -> bool:
        return False  # kept until start_log_file() hands them over (or the process ends)


class MirrorLogFile(RotatingFileHandler):
    """The mirror's log file: a write that fails (disk full, a file size
    limit) is said once, in one line, and the crawl goes on without the file."""

    def handleError(self, record: logging.LogRecord) -> None:
        logging.root.removeHandler(self)
        error = sys.exc_info()[1]
        print(
            f"warning: cannot write the log file {self.baseFilename}: {error}; going on without it",
            file=sys.stderr,
        )
        with contextlib.suppress(OSError):
            self.close()


def start_log_file(settings: BaseSettings) -> None:
    """Open the mirror's rotated log file, once per process and path, with the
    records kept since :func:`prepare`. Called once the folder takes files."""
    early = _find(EarlyRecords)
    if early is None:
        return
    logging.root.removeHandler(early)
    path = log_path(settings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = MirrorLogFile(
            path, maxBytes=settings.getint("MIRROR_LOG_MAX_BYTES"),
            backupCount=settings.getint("MIRROR_LOG_BACKUPS"), encoding="utf-8",
        )  # fmt: skip
    except OSError as e:
        print(f"warning: cannot open the log file {path}: {e}; going on without it",
              file=sys.stderr)  # fmt: skip
        early.buffer.clear()
        return
    handler.setLevel(early.level)
    handler.setFormatter(logging.Formatter(_FORMAT))
    for record in early.buffer:
        if record.levelno >= handler.level:
            handler.handle(record)
    early.buffer.clear()
    logging.root.addHandler(handler)


def _find(kind: type[_H]) -> _H | None:
    return next((h for h in logging.root.handlers if isinstance(h, kind)), None)
