"""What the crawlers of one process share, in one object with a lifetime.

``crawlall`` and ``demo`` run one crawler for all their feeds, a fleet's a
crawler per feed (``MIRROR_CRAWLER_PER_FEED``), and the crawlers of one
process share a few things on purpose: the dedup store of the mirror folder
(one index, one lock file, claims seen by every feed), its revisit schedule
(:func:`crawler.mirror.revisits.revisit_schedule`), the per-host politeness
gates, the fleet's worker (one heartbeat per process), the Jekyll site files
installed once, the garbage collector frozen once. They live in a
:class:`MirrorProcess`, not in module globals, so that a test can build
crawlers in-process and see everything closed at the end.

Lifetime:

- a command that runs crawlers (``crawl``, ``crawlall``, ``demo``: see
  :func:`crawler.commands.recorded_run`) creates one with :meth:`MirrorProcess.opened`,
  puts it in the ``MIRROR_PROCESS`` setting of every crawler it starts (the
  object survives the copy of the settings each crawler takes), and closes it
  when they have all finished;
- a crawler built without one (a test's ``get_crawler``, ``scrapy probe``)
  gets its own from :func:`process_of`, closed when its engine stops.

What is shared has a key (the mirror folder, the Redis URL…) and is made by
the first component asking for it: :meth:`MirrorProcess.acquire` counts its
users and closes it when the last gives it back (the dedup store: closed as
each run ends, as before); :meth:`MirrorProcess.keep` keeps it until the
process object is closed (gates, the fleet's worker, site files).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")

SETTING = "MIRROR_PROCESS"


def _close(thing: Any) -> None:
    close = getattr(thing, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # one part failing to close must not keep the others open
            logger.exception("Cannot close %r", thing)


class MirrorProcess:
    """The parts shared by the crawlers of one process (see the module's docstring)."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], Any] = {}
        self._used: dict[tuple[str, str], list[Any]] = {}  # key -> [part, users]
        self.gc_frozen = False  # crawler.extensions.collector: once per process
        self.closed = False

    def __deepcopy__(self, memo: dict[int, Any]) -> MirrorProcess:
        return self  # every crawler's copy of the settings shares the one process object

    def keep(self, kind: str, key: str, make: Callable[[], T]) -> T:
        """The part ``kind`` for ``key``, made on first use, kept until :meth:`close`."""
        part = self._kept.get((kind, key))
        if part is None:
            part = self._kept[kind, key] = make()
        return part

    def acquire(self, kind: str, key: str, make: Callable[[], T]) -> T:
        """The part ``kind`` for ``key``, one more user of it; :meth:`release` it."""
        held = self._used.get((kind, key))
        if held is None:
            held = self._used[kind, key] = [make(), 0]
        held[1] += 1
        return held[0]

    def release(self, part: Any) -> None:
        """One user fewer of ``part``; closed when none is left."""
        for key, held in list(self._used.items()):
            if held[0] is part:
                held[1] -= 1
                if held[1] <= 0:
                    del self._used[key]
                    _close(part)
                return

    def parts(self) -> Iterator[Any]:
        """Everything the process holds now (for tests and debugging)."""
        yield from (held[0] for held in self._used.values())
        yield from self._kept.values()

    def close(self) -> None:
        """Close every part still held, the last made first."""
        if self.closed:
            return
        self.closed = True
        for part in reversed([*self._used.values()]):
            _close(part[0])
        for kept in reversed([*self._kept.values()]):
            _close(kept)
        self._used.clear()
        self._kept.clear()

    @classmethod
    @contextmanager
    def opened(cls, settings: BaseSettings) -> Iterator[MirrorProcess]:
        """A process object in ``settings`` (``MIRROR_PROCESS``) while the block
        runs, closed after it; an object already there is left to its owner."""
        existing = settings.get(SETTING)
        if isinstance(existing, MirrorProcess):
            yield existing
            return
        process = cls()
        settings.set(SETTING, process, priority="cmdline")
        try:
            yield process
        finally:
            process.close()
            with suppress(TypeError):  # frozen settings keep it (closed)
                settings.set(SETTING, None, priority="cmdline")


def process_of(crawler: Crawler) -> MirrorProcess:
    """The process object of ``crawler``: its command's (``MIRROR_PROCESS``),
    or one of its own, made now and closed when its engine stops."""
    shared = crawler.settings.get(SETTING)
    if isinstance(shared, MirrorProcess):
        return shared
    own: MirrorProcess | None = getattr(crawler, "mirror_process", None)
    if own is None:
        own = MirrorProcess()
        crawler.mirror_process = own  # type: ignore[attr-defined]
        crawler.signals.connect(own.close, signal=signals.engine_stopped)
    return own


def acquire_for(crawler: Crawler, kind: str, key: str, make: Callable[[], T]) -> T:
    """The part ``kind`` for ``key`` of ``crawler``'s process object
    (:meth:`MirrorProcess.acquire`), given back when the crawler's engine stops."""
    process = process_of(crawler)
    part = process.acquire(kind, key, make)

    def give_back() -> None:
        process.release(part)

    crawler.signals.connect(give_back, signal=signals.engine_stopped, weak=False)
    return part
