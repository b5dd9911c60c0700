"""``scrapy status``: the health of a mirror at a glance.

Read from the run history (:mod:`crawler.mirror.runlog`), the post folders (names
only), the back-off state and the run lock; nothing is written. Per feed:
posts mirrored (the new posts of every recorded run), the last run and its
outcome, when a run last brought a new post, the last error, and flags:

* ``FAILING``: the feed's last run failed outright (and for how many in a row);
* ``BACKING OFF``: the scheduler lets it sit out runs (:mod:`crawler.mirror.backoff`);
* ``QUIET``: its runs have found nothing new for an unusual stretch: longer
  than ``MIRROR_QUIET_FACTOR`` times its longest stretch without news in the
  past week, and longer than ``MIRROR_QUIET_HOURS``. Only runs count as
  evidence: a mirror nobody crawled is flagged once, in the header, not per feed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from scrapy.settings import BaseSettings

from crawler.mirror.archive import OLD_POSTS_DIR, POSTS_DIR, category_of, post_names
from crawler.mirror.backoff import FeedBackoff
from crawler.mirror.capture import capture_dir, capture_size
from crawler.mirror.lock import RunLock
from crawler.mirror.rotation import now_from_settings
from crawler.mirror.runlog import SUMMARY, RunLog, parse_time
from crawler.text import plural

WEEK = timedelta(days=7)


@dataclass
class FeedHealth:
    name: str
    in_catalog: bool = True
    runs: int = 0
    posts: int = 0
    first_run: datetime | None = None
    last_run: datetime | None = None
    last_outcome: str = ""  # ok, FAILED, stopped
    last_new: datetime | None = None
    last_error: tuple[datetime, str] | None = None
    failing_runs: int = 0  # failed runs in a row, up to the last one
    longest_lull: timedelta | None = None  # between new posts, in the past week
    revisits: int = 0  # articles fetched again (SPEC §9)
    revisions: int = 0  # revisions found by them
    flags: list[str] = field(default_factory=list)
    problem: bool = False


class MirrorStatus:
    """What ``scrapy status`` prints, gathered from one mirror folder."""

    def __init__(
        self,
        mirror_dir: str | Path,
        catalog_feeds: Iterable[str],
        now: datetime,
        quiet_factor: float = 2.0,
        quiet_hours: float = 6,
        keep_days: int = 3,
    ):
        self.root = Path(mirror_dir)
        self.now = now
        self.quiet_factor = quiet_factor
        self.quiet = timedelta(hours=quiet_hours)
        self.keep_days = keep_days
        self.feeds: dict[str, FeedHealth] = {n: FeedHealth(n) for n in catalog_feeds}
        self.runs = 0
        self.first: dict[str, Any] | None = None
        self.last: dict[str, Any] | None = None
        self.header_flags: list[str] = []
        self.categories: dict[str, int] = {}  # posts on disk, both folders

    @classmethod
    def from_settings(cls, settings: BaseSettings, catalog_feeds: Iterable[str]) -> MirrorStatus:
        return cls(
            settings.get("MIRROR_DIR"),
            catalog_feeds,
            now_from_settings(settings),
            settings.getfloat("MIRROR_QUIET_FACTOR"),
            settings.getfloat("MIRROR_QUIET_HOURS"),
            settings.getint("MIRROR_KEEP_DAYS"),
        )

    # -- gathering ----------------------------------------------------------
    def collect(self) -> MirrorStatus:
        self._count_categories()
        for record in RunLog(self.root).records():
            try:
                self._add(record)
            except (KeyError, TypeError, ValueError, AttributeError):
                continue  # a record of another shape: not ours to judge
        for health in self.feeds.values():
            self._judge(health)
        backoff = FeedBackoff(self.root, 0).load()
        for name, entry in backoff.items():
            if name in self.feeds and entry.get("skip", 0) > 0:
                skip = entry["skip"]
                self.feeds[name].problem = True
                self.feeds[name].flags.append(
                    f"BACKING OFF: sits out {skip} more run{'' if skip == 1 else 's'}"
                )
        if self.last is not None:
            idle = self.now - parse_time(self.last["end"])
            if idle > self.quiet:
                self.header_flags.append(
                    f"NO RUN for {_span(idle)}: is the scheduler (or cron) running?"
                )
        return self

    def _count_categories(self) -> None:
        """The posts on disk by category, from the head of each post file."""
        for folder in (self.root / POSTS_DIR, self.root / OLD_POSTS_DIR):
            for name in post_names(folder):
                try:
                    category = category_of(folder / name)
                except OSError:  # rotated or removed meanwhile
                    continue
                key = category or "(no category)"
                self.categories[key] = self.categories.get(key, 0) + 1

    def _add(self, record: dict[str, Any]) -> None:
        start, end = parse_time(record["start"]), parse_time(record["end"])
        if record.get("command") == SUMMARY:
            self._add_summary(record, start)
            return
        self.runs += 1
        self.first = self.first or record
        self.last = record
        for name, outcome in record["feeds"].items():
            h = self.feeds.get(name)
            if h is None:
                h = self.feeds[name] = FeedHealth(name, in_catalog=False)
            h.runs += 1
            h.posts += int(outcome.get("new", 0))
            h.revisits += int(outcome.get("revisits", 0))
            h.revisions += int(outcome.get("revisions", 0))
            h.first_run = h.first_run or start
            self._outcome(h, end, outcome)
            if outcome.get("new"):
                if h.last_new is not None and end >= self.now - WEEK:
                    lull = end - h.last_new
                    h.longest_lull = max(lull, h.longest_lull or lull)
                h.last_new = end

    def _outcome(self, h: FeedHealth, end: datetime, outcome: dict[str, Any]) -> None:
        h.last_run = end
        if outcome.get("failed"):
            h.last_outcome = "FAILED"
            h.failing_runs += 1
        elif outcome.get("reason", "finished") != "finished":
            h.last_outcome = "stopped"
        else:
            h.last_outcome = "ok"
            h.failing_runs = 0
        error = outcome.get("failed") or _breakdown(outcome.get("errors") or {})
        if error:
            h.last_error = (end, error)

    def _add_summary(self, summary: dict[str, Any], start: datetime) -> None:
        """The runs folded out of the history: totals and times, no outcomes."""
        self.runs += int(summary["runs"])
        self.first = self.first or summary
        self.last = self.last or summary
        for name, folded in summary["feeds"].items():
            h = self.feeds.get(name)
            if h is None:
                h = self.feeds[name] = FeedHealth(name, in_catalog=False)
            h.runs += int(folded["runs"])
            h.posts += int(folded["new"])
            h.revisits += int(folded.get("revisits", 0))
            h.revisions += int(folded.get("revisions", 0))
            h.first_run = h.first_run or start
            self._outcome(h, parse_time(folded["last_run"]), folded.get("last") or {})
            if folded.get("last_new"):
                h.last_new = parse_time(folded["last_new"])

    def _judge(self, h: FeedHealth) -> None:
        if not h.in_catalog:
            h.flags.append("not in the catalog any more")
        if not h.runs:
            h.flags.append("no run yet")
            return
        if h.last_outcome == "FAILED":
            h.problem = True
            h.flags.append(
                "FAILING" + (f" {h.failing_runs} runs in a row" if h.failing_runs > 1 else "")
            )
            return
        silent_since = h.last_new or h.first_run
        assert silent_since is not None and h.last_run is not None
        silence = h.last_run - silent_since
        threshold = self.quiet
        if h.longest_lull is not None:
            threshold = max(threshold, h.longest_lull * self.quiet_factor)
        if silence > threshold and h.in_catalog:
            h.problem = True
            usual = (
                f"; its longest lull this week was {_span(h.longest_lull)}"
                if h.longest_lull
                else ""
            )
            h.flags.append(
                f"QUIET: nothing new for {_span(silence)}"
                + (" (never anything)" if h.last_new is None else "")
                + usual
            )

    @property
    def problems(self) -> bool:
        return bool(self.header_flags) or any(h.problem for h in self.feeds.values())

    # -- printing -----------------------------------------------------------
    def render(self) -> str:
        lines = [
            f"Mirror {self.root.resolve()}: {plural(_count(self.root / POSTS_DIR), 'post')} in "
            f"{POSTS_DIR}/, {_count(self.root / OLD_POSTS_DIR)} in {OLD_POSTS_DIR}/ "
            f"(MIRROR_KEEP_DAYS {self.keep_days})",
        ]
        if self.categories:
            lines.append(
                "Posts by category: "
                + ", ".join(f"{c} {n}" for c, n in sorted(self.categories.items()))
            )
        if self.last is None or self.first is None:
            lines.append(f"Runs: none recorded yet in {RunLog(self.root).path}")
        else:
            end = parse_time(self.last["end"])
            lines.append(
                f"Runs: {self.runs} recorded since {_clock(parse_time(self.first['start']))}; "
                f"last ({self.last.get('command', '?')}) ended {_clock(end)} "
                f"({_ago(self.now, end)}), status {self.last.get('status', '?')}"
            )
        files, size = capture_size(self.root)
        if files:
            lines.append(
                f"Capture: {plural(files, 'WARC file')}, {size / 1e6:.1f} MB in "
                f"{capture_dir(self.root)}"
            )
        holder = RunLock(self.root).holder()
        lines.append(f"Lock: held by {holder.describe()}" if holder else "Lock: free")
        revisited = [h for h in self.feeds.values() if h.revisits]
        if revisited:
            lines.append(
                "Revisits: "
                + "; ".join(
                    f"{h.name} {h.revisits} done, {plural(h.revisions, 'revision')} found"
                    for h in revisited
                )
            )
        lines += [f"!! {flag}" for flag in self.header_flags]
        rows = [("FEED", "POSTS", "LAST RUN", "LAST NEW POST", "LAST ERROR", "FLAGS")]
        for h in self.feeds.values():
            rows.append((
                h.name,
                str(h.posts),
                f"{_clock(h.last_run)} {h.last_outcome}" if h.last_run else "-",
                f"{_clock(h.last_new)} ({_ago(self.now, h.last_new)})" if h.last_new else "-",
                f"{_clock(h.last_error[0])} {h.last_error[1]}" if h.last_error else "-",
                "; ".join(h.flags),
            ))  # fmt: skip
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        lines.append("")
        for row in rows:
            cells = [
                row[i].rjust(widths[i]) if i == 1 else row[i].ljust(widths[i])
                for i in range(len(widths))
            ]
            lines.append("  ".join([*cells, row[-1]]).rstrip())
        return "\n".join(lines)


def _clock(when: datetime | None) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M") if when else "-"


def _span(delta: timedelta | None) -> str:
    seconds = int(delta.total_seconds()) if delta else 0
    if seconds < 60:
        return f"{max(seconds, 0)}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h" + (f" {minutes}m" if minutes else "")
    days, hours = divmod(hours, 24)
    return f"{days}d" + (f" {hours}h" if hours else "")


def _ago(now: datetime, when: datetime) -> str:
    return f"{_span(now - when)} ago" if now >= when else "in the future"


def _breakdown(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if v)


def _count(folder: Path) -> int:
    return len(post_names(folder))
