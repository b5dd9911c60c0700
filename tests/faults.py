"""Fault injection into real crawls, and the checks that count what went wrong.

Shared by the tests (``tests/test_crash.py``, ``tests/test_hostile.py``) and by
the reliability report (``bench/reliability.py``), so the figures in the README
come from the same code the tests assert on. Everything here runs the real
``scrapy`` commands as processes against the bundled replica over loopback and
reads back the files they write; nothing is mocked.

- :func:`check_mirror`: the state of a mirror folder (torn post files, the
  same article twice, temporary files, the dedup index against the files).
- :func:`crash_trial`: ``scrapy crawlall`` killed with SIGKILL at many points,
  restarted each time, then run to the end; posts lost, twice, rewritten, torn.
- :func:`rotate_crash_trial`: the same for ``scrapy rotate``.
- :func:`hostile_trial`: one crawl of the replica's hostile feeds
  (:mod:`replica.hostile`); unsafe outputs, good articles missed,
  bad ones not logged.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from crawler.cleaning.cleaner import is_safe
from crawler.mirror.archive import (
    FILENAME,
    OLD_POSTS_DIR,
    POSTS_DIR,
    FormatError,
    Post,
    parse,
    render,
    write_atomic,
)
from crawler.mirror.paths import INDEX_FILE, STATE_DIR
from replica.content import TZ
from replica.hostile import CASES, LIST_JUNK, hostile_catalog
from replica.process import ReplicaProcess
from tests.utils.cmdline import Result, popen_scrapy, run_scrapy

BASE_URL = "//finews.withounder.com"  # MIRROR_BASE_URL's default
QUICK = [
    "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "LOG_LEVEL=INFO", "-s", "RETRY_BACKOFF_BASE=0.1",
]  # fmt: skip
# The hostile feeds' limits: 2 s is past nothing good and before the slow page.
HOSTILE_SETTINGS = [
    "-s", "DOWNLOAD_TIMEOUT=2", "-s", "DOWNLOAD_MAXSIZE=2000000",
    "-s", "RETRY_TIMES=1", "-s", "RETRY_BACKOFF_BASE=0.1",
]  # fmt: skip


def replica_catalog_file(url: str, path: Path, leave_out: tuple[str, ...] = ()) -> Path:
    """The shipped catalog pointed at the replica at ``url``, written to ``path``."""
    from replica import replica_catalog

    data = replica_catalog(url)
    for name in leave_out:
        data["feeds"].pop(name, None)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return path


def scrapy_args(mirror: Path, catalog: Path, *extra: str) -> list[str]:
    return ["-s", f"MIRROR_DIR={mirror}", "-s", f"NEWS_FEEDS_FILE={catalog}", *QUICK, *extra]


# --- The state of a mirror folder ---------------------------------------------------


@dataclass
class MirrorState:
    posts: dict[str, Path] = field(default_factory=dict)  # infoCode → its file
    torn: list[str] = field(default_factory=list)  # post files not whole
    duplicates: list[str] = field(default_factory=list)  # infoCodes in two files
    visible_temps: list[str] = field(default_factory=list)  # junk Jekyll would publish
    hidden_temps: list[str] = field(default_factory=list)  # .*.tmp left behind
    index_without_post: list[str] = field(default_factory=list)  # index says mirrored: no file
    posts_not_indexed: list[str] = field(default_factory=list)  # added at the next start
    bad_index_lines: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        """Nothing torn, nothing twice, nothing visible, the index no ahead of the files."""
        return not (
            self.torn or self.duplicates or self.visible_temps
            or self.index_without_post or self.bad_index_lines
        )  # fmt: skip

    def identities(self) -> dict[str, tuple[int, int]]:
        """infoCode → (inode, mtime): a post written again gets a new inode."""
        out = {}
        for code, path in self.posts.items():
            st = path.stat()
            out[code] = (st.st_ino, st.st_mtime_ns)
        return out


def whole(text: str, path: str, base_url: str = BASE_URL) -> Post | None:
    """The post in ``text`` if the file is complete: it parses and renders back
    byte for byte (a torn file has no footer, or half of one)."""
    try:
        post = parse(text, path)
    except FormatError:
        return None
    return post if render(post, base_url) == text else None


_WHOLE: dict[tuple[int, int, int, int], bool] = {}  # (dev, inode, mtime, size) → whole


def check_mirror(root: Path, base_url: str = BASE_URL) -> MirrorState:
    state = MirrorState()
    for folder in (POSTS_DIR, OLD_POSTS_DIR):
        try:
            entries = sorted(os.scandir(root / folder), key=lambda e: e.name)
        except FileNotFoundError:
            continue
        for entry in entries:
            name = entry.name
            match = FILENAME.fullmatch(name)
            if match is None:
                if name.startswith("."):
                    if name.endswith(".tmp"):
                        state.hidden_temps.append(f"{folder}/{name}")
                else:
                    state.visible_temps.append(f"{folder}/{name}")
                continue
            path = Path(entry.path)
            st = entry.stat()
            key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
            if key not in _WHOLE:  # a file checked once and not changed since is as it was
                try:
                    text = path.read_bytes().decode("utf-8")
                except UnicodeDecodeError:
                    text = ""
                _WHOLE[key] = whole(text, str(path), base_url) is not None
            if not _WHOLE[key]:
                state.torn.append(f"{folder}/{name}")
            code = match["infoCode"]
            if code in state.posts:
                state.duplicates.append(code)
            state.posts[code] = path
    index = root / STATE_DIR / INDEX_FILE
    mirrored: set[str] = set()
    try:
        data = index.read_bytes()
    except FileNotFoundError:
        data = b""
    complete, _, partial = data.rpartition(b"\n")
    if partial:
        state.bad_index_lines.append(f"partial: {partial[:60]!r}")
    for line in complete.decode("utf-8", "replace").split("\n") if complete else []:
        fields = line.split("\t")
        if len(fields) == 2 and fields[1] == "m":
            mirrored.add(fields[0])
        elif not (len(fields) in (3, 4) and fields[1] == "d"):  # 4: with its feed@fingerprint
            state.bad_index_lines.append(line[:80])
    state.index_without_post = sorted(mirrored - set(state.posts))
    state.posts_not_indexed = sorted(set(state.posts) - mirrored)
    return state


# --- Kill a crawl, many times ---------------------------------------------------------


@dataclass
class CrashReport:
    kill_points: int = 0  # runs killed with SIGKILL
    killed_writing: int = 0  # of which while posts were being written
    posts_expected: int = 0  # a clean single run's posts
    posts_lost: int = 0  # expected, not mirrored in the end
    posts_extra: int = 0  # mirrored in the end, not expected
    duplicates: int = 0  # an infoCode in two files
    rewritten: int = 0  # a complete post written again
    torn_files: int = 0  # post files not whole after a kill
    visible_temps: int = 0  # files Jekyll would publish that are no posts
    index_ahead: int = 0  # index entries without their post file
    temps_left_by_kills: int = 0  # half-written .tmp files kills left (hidden from Jekyll)
    hidden_temps_left: int = 0  # still there after the final run
    final_exit: int = 0
    seconds: float = 0.0
    kill_times: list[float] = field(default_factory=list)

    def failures(self) -> list[str]:
        bad = [
            name for name in (
                "posts_lost", "posts_extra", "duplicates", "rewritten", "torn_files",
                "visible_temps", "index_ahead", "hidden_temps_left", "final_exit",
            ) if getattr(self, name)
        ]  # fmt: skip
        return bad


def _count_posts(folder: Path) -> int:
    try:
        with os.scandir(folder) as entries:
            return sum(1 for e in entries if not e.name.startswith("."))
    except FileNotFoundError:
        return 0


def _kill_at(proc: subprocess.Popen[str], folder: Path, target: int, delay: float,
             deadline: float, poll: float = 0.003) -> tuple[bool, float]:  # fmt: skip
    """SIGKILL ``proc`` ``delay`` s after ``folder`` holds ``target`` posts;
    (killed, seconds after start). False if it finished first."""
    start = time.monotonic()
    while _count_posts(folder) < target and proc.poll() is None:
        if time.monotonic() > deadline:
            break
        if poll:
            time.sleep(poll)
    time.sleep(delay)
    if proc.poll() is not None:
        return False, time.monotonic() - start
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    return True, time.monotonic() - start


def _drain(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=30)
    return (out or "") + (err or "")


def crash_trial(
    workdir: Path,
    kills: int = 20,
    articles: int = 100,
    per_page: int = 20,
    seed: int | None = None,
    log: Any = None,
    latency_ms: int = 60,
) -> CrashReport:
    """``crawlall`` of several hundred articles killed ``kills`` times, spread
    over the run, each kill checked, then run to its end and compared with a
    clean run of the same replica."""
    rng = random.Random(seed)
    report = CrashReport()
    started = time.monotonic()
    say = log or (lambda *a: None)
    # Some latency spreads the writes over seconds, so that kill points fall all along.
    replica_args = ("--articles", str(articles), "--per-page", str(per_page),
                    "--latency-ms", str(latency_ms))  # fmt: skip
    with ReplicaProcess(*replica_args) as replica:
        # qujingribao is cut out of yunnanxinwen's aggregate: which of the two
        # takes an article depends on timing, so the clean run would vary.
        catalog = replica_catalog_file(replica.url, workdir / "feeds.yaml", ("qujingribao",))
        clean_dir = workdir / "clean"
        t0 = time.monotonic()
        result = run_scrapy("crawlall", *scrapy_args(clean_dir, catalog), cwd=workdir)
        clean_seconds = time.monotonic() - t0
        if result.returncode != 0:
            raise RuntimeError(f"the clean run failed:\n{result.output[-3000:]}")
        expected = set(check_mirror(clean_dir).posts)
        report.posts_expected = len(expected)
        say(f"clean run: {len(expected)} posts in {clean_seconds:.1f} s")

        mirror = workdir / "mirror"
        posts_dir = mirror / POSTS_DIR
        # Kill points spread over the run: by the number of posts written (all
        # along it), plus some at random times in the start-up (store, robots.txt,
        # listings), each a random moment after its mark.
        by_count = max(1, kills - kills // 5)
        n = len(expected)
        targets = [int(0.95 * n * (k + rng.random()) / by_count) for k in range(by_count)]
        plan: list[tuple[int, float]] = [(t, rng.uniform(0, 0.03)) for t in targets]
        for _ in range(kills - by_count):
            plan.insert(rng.randrange(len(plan) + 1), (0, rng.uniform(0.3, 2.0)))
        seen: dict[str, tuple[int, int]] = {}
        temps: set[str] = set()
        attempts = 0
        while report.kill_points < kills and attempts < 2 * kills:
            # A run that finished before its kill point is no kill: another
            # point, in the start-up, takes its place.
            target, delay = plan.pop(0) if plan else (0, rng.uniform(0.3, 2.0))
            attempts += 1
            have = _count_posts(posts_dir)
            if target and target <= have:  # passed already: a later one, or in the start-up
                if have < n - 1:
                    target = rng.randrange(have + 1, n)
                else:
                    target, delay = 0, rng.uniform(0.3, 2.0)
            target = max(target, have)
            proc = popen_scrapy("crawlall", *scrapy_args(mirror, catalog), cwd=workdir)
            before = _count_posts(posts_dir)
            killed, at = _kill_at(proc, posts_dir, target, delay, time.monotonic() + 60)
            _drain(proc)
            state = check_mirror(mirror)
            if killed:
                report.kill_points += 1
                report.kill_times.append(round(at, 3))
                if _count_posts(posts_dir) > before:
                    report.killed_writing += 1
            report.torn_files += len(state.torn)
            report.duplicates += len(state.duplicates)
            report.visible_temps += len(state.visible_temps)
            report.index_ahead += len(state.index_without_post)
            temps.update(state.hidden_temps)
            report.temps_left_by_kills = len(temps)
            for code, ident in state.identities().items():
                if code in seen and seen[code] != ident:
                    report.rewritten += 1
                seen.setdefault(code, ident)
            say(
                f"kill {report.kill_points}: {'killed' if killed else 'finished'} at "
                f"{at:.2f} s, {len(state.posts)} posts, {len(state.hidden_temps)} temps, "
                f"{len(state.posts_not_indexed)} not yet indexed"
            )
        # A run that is not killed mirrors exactly what is missing.
        result = run_scrapy("crawlall", *scrapy_args(mirror, catalog), cwd=workdir)
        report.final_exit = result.returncode
        state = check_mirror(mirror)
        for code, ident in state.identities().items():
            if code in seen and seen[code] != ident:
                report.rewritten += 1
        final = set(state.posts)
        report.posts_lost = len(expected - final)
        report.posts_extra = len(final - expected)
        report.torn_files += len(state.torn)
        report.duplicates += len(state.duplicates)
        report.visible_temps += len(state.visible_temps)
        report.index_ahead += len(state.index_without_post) + len(state.posts_not_indexed)
        report.hidden_temps_left = len(state.hidden_temps)
    report.seconds = round(time.monotonic() - started, 1)
    return report


# --- Kill a rotation, many times ----------------------------------------------------------


@dataclass
class RotateReport:
    posts: int = 0
    kill_points: int = 0
    killed_moving: int = 0  # kills that fell between the first and the last move
    posts_lost: int = 0  # in neither folder
    duplicates: int = 0  # in both folders
    torn_files: int = 0
    left_in_posts: int = 0  # due, still in _posts/ after the final rotation
    final_exit: int = 0
    seconds: float = 0.0

    def failures(self) -> list[str]:
        names = ("posts_lost", "duplicates", "torn_files", "left_in_posts", "final_exit")
        return [name for name in names if getattr(self, name)]


def synthetic_posts(mirror: Path, n: int, when: datetime) -> set[str]:
    """``n`` post files dated ``when`` and the days before, written as the crawler would."""
    codes = set()
    for k in range(n):
        code = f"NWROTA{k:08d}"
        post = Post(
            info_code=code, title=f"轮转测试 {k}", date=when - timedelta(minutes=7 * k),
            category="kunmingribao", outlet="昆明日报", body=f"<p>第 {k} 篇。</p>",
            share_url=f"http://finews.zning.xyz/html_News/NewsShare.html?infoCode={code}",
        )  # fmt: skip
        write_atomic(mirror / POSTS_DIR / post.filename, render(post, BASE_URL))
        codes.add(code)
    return codes


def rotate_crash_trial(
    workdir: Path, posts: int = 4000, kills: int = 10, seed: int | None = None, log: Any = None
) -> RotateReport:
    """``scrapy rotate`` of ``posts`` old posts killed until ``kills`` kills have
    fallen mid-move (when all have moved, they are put back for another round)."""
    rng = random.Random(seed)
    say = log or (lambda *a: None)
    report = RotateReport(posts=posts)
    started = time.monotonic()
    mirror = workdir / "rotate"
    when = datetime(2024, 1, 31, 12, 0, tzinfo=TZ)
    codes = synthetic_posts(mirror, posts, when)
    now = "2024-03-01T12:00:00+08:00"  # every post is past MIRROR_KEEP_DAYS
    args = ["-s", f"MIRROR_DIR={mirror}", "-s", f"MIRROR_NOW={now}", "-s", "LOG_LEVEL=INFO"]
    old_dir = mirror / OLD_POSTS_DIR
    posts_dir = mirror / POSTS_DIR
    attempts = 0
    while report.killed_moving < kills and attempts < 4 * kills:
        attempts += 1
        have = _count_posts(old_dir)
        if have >= posts - 1:  # all moved: back into _posts/ for another round of kills
            for name in os.listdir(old_dir):
                if FILENAME.fullmatch(name):
                    os.rename(old_dir / name, posts_dir / name)
            have = 0
        target = rng.randrange(have + 1, posts)  # a random point of what is left to move
        proc = popen_scrapy("rotate", *args, cwd=workdir)
        # Renames are fast (thousands a second): watch without a pause.
        killed, at = _kill_at(proc, old_dir, target, 0.0, time.monotonic() + 60, poll=0)
        _drain(proc)
        moved = _count_posts(old_dir)
        if killed:
            report.kill_points += 1
            if have < moved < posts:
                report.killed_moving += 1
        state = check_mirror(mirror)
        report.torn_files += len(state.torn)
        report.duplicates += len(state.duplicates)
        report.posts_lost += len(codes - set(state.posts))
        say(f"rotate kill {report.kill_points}: {'killed' if killed else 'finished'} "
            f"at {at:.2f} s, {moved} of {posts} moved")  # fmt: skip
    result = run_scrapy("rotate", *args, cwd=workdir)
    report.final_exit = result.returncode
    state = check_mirror(mirror)
    report.torn_files += len(state.torn)
    report.duplicates += len(state.duplicates)
    report.posts_lost += len(codes - set(state.posts))
    report.left_in_posts = _count_posts(mirror / POSTS_DIR)
    report.seconds = round(time.monotonic() - started, 1)
    return report


# --- Hostile and broken source ---------------------------------------------------------------

FOOTER = re.compile(
    r"\[返回(?P<label>[^\n]*)新闻\]\((?P<base>[^()\s]*)/category/(?P<category>[a-z0-9-]+)\.html\)"
    r"｜\[返回首页\]\((?P=base)/\)"
)
_UNESCAPED = re.compile(r"(?<!\\)[\[\]()<>]")
FORBIDDEN_PATHS = ("/private/", "/hostile/target", "/hostile/offsite/")


def unsafe_reasons(text: str, path: str = "<post>", base_url: str = BASE_URL) -> list[str]:
    """Why a post file's text could execute or be misread in the mirror ([] if it cannot).

    The body must pass :func:`crawler.cleaning.cleaner.is_safe`; the front matter must
    load as YAML with a string title; nothing after it may open Liquid; the
    share link must be one http(s) autolink; the back-links must be exactly
    the two links of the format, their label unable to close or open one.
    """
    reasons = []
    try:
        post = parse(text, path)
    except FormatError as e:
        return [f"not a post file: {e}"]
    if render(post, base_url) != text:
        reasons.append("not a whole post file")
    end = text.find("\n---\n", 3)
    meta = yaml.safe_load(text[4:end])
    if not isinstance(meta.get("title"), str):
        reasons.append("title is not a string")
    if set(meta) != {"layout", "title", "date", "categories", "tags"}:
        reasons.append(f"front matter keys {sorted(meta)}")
    if not is_safe(post.body):
        reasons.append("body is not safe")
    rest = text[end + 5 :]
    if "{{" in rest or "{%" in rest:
        reasons.append("Liquid after the front matter")
    share = rest.rsplit("\n\n", 2)[1]
    if not re.fullmatch(r"<https?://[^\s<>]+>", share):
        reasons.append(f"share link {share[:80]!r}")
    footer = rest.rsplit("\n\n", 2)[2]
    match = FOOTER.fullmatch(footer)
    if match is None:
        reasons.append(f"back-links {footer[:80]!r}")
    elif _UNESCAPED.search(match["label"]):
        reasons.append(f"back-link label {match['label'][:80]!r}")
    return reasons


@dataclass
class HostileReport:
    inputs: int = 0  # hostile inputs tried
    posts: int = 0
    unsafe_outputs: int = 0  # post files with any of unsafe_reasons
    good_missed: int = 0  # articles that should be mirrored and are not
    wrong_titles: int = 0  # mirrored with another title than the exact one
    refused_mirrored: int = 0  # should have been refused, became a post
    not_logged: int = 0  # refused without a warning or error naming it
    forbidden_fetches: int = 0  # robots.txt-disallowed or off-host URLs asked for
    tracebacks: int = 0
    exit_code: int = 0
    seconds: float = 0.0
    details: dict[str, list[str]] = field(default_factory=dict)
    mirrored: list[str] = field(default_factory=list)  # infoCodes that became posts
    mirror: str = ""  # the mirror folder the crawl wrote

    def failures(self) -> list[str]:
        names = ("unsafe_outputs", "good_missed", "wrong_titles", "refused_mirrored",
                 "not_logged", "forbidden_fetches", "tracebacks", "exit_code")  # fmt: skip
        return [name for name in names if getattr(self, name)]


def hostile_inputs() -> int:
    """Hostile inputs the feeds serve: each bad article, junk record and bad listing page."""
    bad = [c for c in CASES.values() if not c.kind.startswith("good")]
    return len(bad) + len(LIST_JUNK) + 2  # the 10,000-link page, the 100,000-deep list page


def hostile_trial(workdir: Path, replica: ReplicaProcess) -> HostileReport:
    report = HostileReport(inputs=hostile_inputs())
    started = time.monotonic()
    catalog = workdir / "hostile.yaml"
    catalog.write_text(yaml.safe_dump(hostile_catalog(replica.url), allow_unicode=True), "utf-8")
    mirror = workdir / "hostile-mirror"
    report.mirror = str(mirror)
    result: Result = run_scrapy(
        "crawlall", *scrapy_args(mirror, catalog, *HOSTILE_SETTINGS), cwd=workdir, timeout=300
    )
    report.exit_code = result.returncode
    log = result.output
    report.tracebacks = log.count("Traceback")
    complaints = [line for line in log.splitlines() if " WARNING: " in line or " ERROR: " in line]
    details: dict[str, list[str]] = {}
    posts: dict[str, str] = {}
    for path in sorted((mirror / POSTS_DIR).glob("*.md")):
        text = path.read_bytes().decode("utf-8")
        match = FILENAME.fullmatch(path.name)
        assert match is not None
        posts[match["infoCode"]] = text
        reasons = unsafe_reasons(text, str(path))
        if reasons:
            report.unsafe_outputs += 1
            details.setdefault("unsafe", []).append(f"{path.name}: {'; '.join(reasons)}")
    report.posts = len(posts)
    report.mirrored = sorted(posts)
    for case in CASES.values():
        text = posts.get(case.code)
        if case.expect == "mirrored" and text is None:
            report.good_missed += 1
            details.setdefault("good_missed", []).append(case.code)
        if case.expect == "refused" and text is not None:
            report.refused_mirrored += 1
            details.setdefault("refused_mirrored", []).append(case.code)
        if text is not None and case.title is not None:
            title = parse(text).title
            if title != case.title:
                report.wrong_titles += 1
                details.setdefault("wrong_titles", []).append(f"{case.code}: {title!r}")
        if text is None and not any(case.marker in line for line in complaints):
            report.not_logged += 1
            details.setdefault("not_logged", []).append(case.code)
    junk_logged = sum("Dropped an entry of feed hostilelist" in line for line in complaints)
    if junk_logged < len(LIST_JUNK):
        report.not_logged += len(LIST_JUNK) - junk_logged
        details.setdefault("not_logged", []).append(f"list junk: {junk_logged}")
    if not any("hostilelist" in line and "page=2" in line for line in complaints):
        report.not_logged += 1
        details.setdefault("not_logged", []).append("the 100,000-deep list page")
    by_path = replica.stats()["by_path"]
    asked = [p for p in by_path if p.startswith(FORBIDDEN_PATHS)]
    report.forbidden_fetches = len(asked)
    if asked:
        details["forbidden_fetches"] = asked
    report.details = details
    report.seconds = round(time.monotonic() - started, 1)
    return report


def as_dict(report: Any) -> dict[str, Any]:
    return asdict(report)
