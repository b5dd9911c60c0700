"""The revisit schedule (SPEC §9): each article fetched again at set ages.

``MIRROR_REVISIT`` lists ages after an article's first fetch (``1h,6h,24h``);
when a run of the article's feed finds it has reached one, the article is
fetched once more (:mod:`crawler.mirror.revisions` decides whether it changed).

The schedule is an append-only JSON-lines file beside the dedup index,
``.mirror/revisits.jsonl``, written under its own lock by every process on
the mirror:

- ``{"c": infoCode, "f": feed, "t": first fetch, "u": URL, "s": share URL,
  "p": post file name, "e": the listing's fields}``: a post written while
  revisits are on (what a revisit needs to ask for the article again
  without its listing: one request, the share page or content API);
- ``{"c": infoCode, "d": age}``: the revisit of that age (seconds) is
  claimed (ages passed together are done by one revisit);
- ``{"c": infoCode, "d": age, "r": 1}``: a claim given back (the fetch
  failed, the run ended first): the revisit is due again.

A claim is written, under the lock and after reading what others wrote,
before the request is made: each revisit is done once across processes (and
fleet workers writing the folder). A run killed after claiming loses only
that age's revisit; the next age still comes. Articles whose last age is
done are left out when the file is rewritten at open (once they are the
greater part, and at least a thousand). Posts written while revisits were off are not scheduled.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from scrapy.crawler import Crawler

from crawler.mirror.lock import FileLock
from crawler.mirror.paths import REVISITS_FILE, REVISITS_LOCK_FILE, STATE_DIR
from crawler.ops.scheduler import parse_duration
from crawler.process import acquire_for

# json.dumps(ensure_ascii=False) builds an encoder at each call: one serves them all.
_dumps = json.JSONEncoder(ensure_ascii=False).encode

logger = logging.getLogger(__name__)

COMPACT_MIN = 1000  # finished articles before the file is rewritten without them


def parse_ages(text: str) -> tuple[float, ...]:
    """Seconds of ``MIRROR_REVISIT`` (``1h,6h,24h``), sorted; empty: revisits off."""
    parts = [p for p in str(text or "").split(",") if p.strip()]
    try:
        ages = sorted({parse_duration(p) for p in parts})
    except ValueError as e:
        raise ValueError(f"MIRROR_REVISIT {text!r}: {e}") from None
    if any(age <= 0 for age in ages):
        raise ValueError(f"MIRROR_REVISIT {text!r}: ages must be above zero")
    return tuple(ages)


@dataclass
class Scheduled:
    """An article on the schedule, with what a revisit of it needs."""

    info_code: str
    feed: str
    first: float  # the first fetch, seconds since the epoch
    url: str  # the share page or content API it was fetched from
    share_url: str
    post: str  # its file name (in _posts/ or, rotated, old_post/)
    fields: dict[str, str] = field(default_factory=dict)  # the listing's, for a revisit
    done: float = 0  # the oldest age not yet due is above this


@dataclass(frozen=True)
class Revisit:
    """A revisit claimed: ``age`` claimed now, ``before`` what was done before."""

    article: Scheduled
    age: float
    before: float


class RevisitSchedule:
    """The revisit schedule of a mirror folder (see the module's docstring)."""

    def __init__(self, mirror_dir: str | Path, ages: tuple[float, ...]):
        self.ages = ages
        state = Path(mirror_dir) / STATE_DIR
        state.mkdir(parents=True, exist_ok=True)
        self.path = state / REVISITS_FILE
        self._articles: dict[str, dict] = {}  # infoCode → its record, "d" kept up to date
        # feed → infoCode → the same records: one feed's revisits found without
        # going through every feed's (crawlall claims them feed by feed).
        self._by_feed: dict[str, dict[str, dict]] = {}
        self._offset = 0
        self._mutex = threading.Lock()
        self._lock_file = FileLock(state / REVISITS_LOCK_FILE, self._mutex)
        with self.locked():
            self._read()
            finished = sum(self.finished(a) for a in self._articles.values())
            if finished >= COMPACT_MIN and 2 * finished > len(self._articles):
                self._compact()

    def locked(self) -> AbstractContextManager[None]:
        return self._lock_file.held()

    def close(self) -> None:
        self._lock_file.close()

    # -- the file -------------------------------------------------------------
    def _read(self) -> None:
        try:
            if os.stat(self.path).st_size == self._offset:
                return  # nothing new: one system call, where reading takes four
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1  # half a line: a writer killed mid-append
        lines = data[:end].decode("utf-8", "replace").splitlines()
        try:  # one parse of them all: ten times faster than line by line
            records = json.loads(f"[{','.join(lines)}]")
        except ValueError:
            records = None
        for k, line in enumerate(lines):
            try:
                self._apply(records[k] if records is not None else json.loads(line))
            except (ValueError, KeyError, TypeError):
                logger.warning(
                    "Revisit schedule %s: skipped a damaged line %r", self.path, line[:80]
                )
        self._offset += end

    def _apply(self, record: dict) -> None:
        """One line of the file: records are kept as read (a schedule of many
        thousands opens in milliseconds), made :class:`Scheduled` when due."""
        code = record["c"]
        if "f" in record:
            record.setdefault("d", 0)
            earlier = self._articles.get(code)
            if earlier is not None:
                self._by_feed.get(earlier["f"], {}).pop(code, None)
            self._articles[code] = record
            self._by_feed.setdefault(record["f"], {})[code] = record
            return
        article = self._articles.get(code)
        if article is None:
            return
        age = float(record["d"])
        article["d"] = min(article["d"], age) if record.get("r") else max(article["d"], age)

    def _append(self, records: list[dict]) -> None:
        data = "".join(_dumps(r) + "\n" for r in records).encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:  # (os.write: a buffered file object costs twice the system calls)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            self._offset = os.lseek(fd, 0, os.SEEK_CUR)
        finally:
            os.close(fd)

    def finished(self, record: dict) -> bool:
        return bool(self.ages) and record["d"] >= self.ages[-1]

    def _compact(self) -> None:
        keep = {c: a for c, a in self._articles.items() if not self.finished(a)}
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(
            "".join(_dumps(a) + "\n" for a in keep.values()),
            "utf-8",
        )
        os.replace(tmp, self.path)
        self._offset = self.path.stat().st_size
        logger.info(
            "Revisit schedule %s: left out %d articles revisited at every age",
            self.path,
            len(self._articles) - len(keep),
        )
        self._articles = keep
        self._by_feed = {}
        for code, record in keep.items():
            self._by_feed.setdefault(record["f"], {})[code] = record

    @staticmethod
    def _record(a: Scheduled) -> dict:
        record = {"c": a.info_code, "f": a.feed, "t": round(a.first, 3), "u": a.url,
                  "s": a.share_url, "p": a.post, "e": a.fields}  # fmt: skip
        if a.done:
            record["d"] = a.done
        return record

    @staticmethod
    def _scheduled(r: dict) -> Scheduled:
        return Scheduled(
            info_code=r["c"], feed=r["f"], first=float(r["t"]), url=r["u"], share_url=r["s"],
            post=r["p"], fields=dict(r.get("e") or {}), done=float(r["d"]),
        )  # fmt: skip

    # -- the schedule ---------------------------------------------------------
    def add(self, article: Scheduled) -> None:
        """Put a post just written on the schedule."""
        with self.locked():
            self._read()
            record = self._record(article)
            self._append([record])
            self._apply(record)

    def claim_due(self, feed: str, now: datetime, limit: int = 0) -> list[Revisit]:
        """Claim the revisits of ``feed`` due at ``now``, the longest due first;
        at most ``limit`` (0: all)."""
        t = now.timestamp()
        with self.locked():
            self._read()
            due: list[Revisit] = []
            for r in self._by_feed.get(feed, {}).values():
                first, done = float(r["t"]), r["d"]
                passed = [age for age in self.ages if age > done and first + age <= t]
                if passed:
                    due.append(Revisit(self._scheduled(r), passed[-1], done))
            due.sort(key=lambda r: r.article.first)
            if limit:
                due = due[:limit]
            if due:
                claims = [{"c": v.article.info_code, "d": v.age} for v in due]
                self._append(claims)
                for claim in claims:
                    self._apply(claim)
        return due

    def release(self, revisit: Revisit) -> None:
        """Give a claim back: that revisit is due again."""
        code = revisit.article.info_code
        with self.locked():
            self._read()
            self._append([{"c": code, "d": revisit.before, "r": 1}])
            self._apply({"c": code, "d": revisit.before, "r": 1})

    def pending(self) -> int:
        """Articles with a revisit still to come."""
        return sum(not self.finished(a) for a in self._articles.values())


def revisit_schedule(crawler: Crawler) -> RevisitSchedule | None:
    """The revisit schedule of ``crawler``: one object, however many of its
    components ask (the spider claims, the writer adds); None when
    ``MIRROR_REVISIT`` is empty.

    As the dedup store (:func:`crawler.mirror.dedup.dedup_store`): the
    crawlers of one process on the same mirror folder share one
    (:class:`crawler.process.MirrorProcess`), closed when the last of them stops.
    """
    if hasattr(crawler, "revisit_schedule"):
        return crawler.revisit_schedule
    settings = crawler.settings
    ages = parse_ages(settings.get("MIRROR_REVISIT"))
    if not ages:
        crawler.revisit_schedule = None  # type: ignore[attr-defined]
        return None
    mirror_dir = settings.get("MIRROR_DIR")
    key = f"{Path(mirror_dir).resolve()}|{ages}"
    made = acquire_for(crawler, "revisit-schedule", key, lambda: RevisitSchedule(mirror_dir, ages))
    crawler.revisit_schedule = made  # type: ignore[attr-defined]
    return made
