"""Storage faults: a full disk, a read-only mirror, a file-size limit, lost or damaged dedup state.

The faults are real: a size-limited tmpfs (``mount -t tmpfs -o size=…``, then
remounted read-only), and the kernel's per-process file-size limit
(``RLIMIT_FSIZE``). Mounting needs root; without it those tests are skipped,
the file-size limit runs everywhere. Each crawl must stop with a non-zero exit
and an error naming the path, leave no partial file, and lose nothing: the
next run on a healthy disk mirrors exactly what is missing.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from crawler.mirror.paths import INDEX_FILE, STATE_DIR
from tests.conftest import Mirror, replica_feeds
from tests.faults import check_mirror
from tests.utils.cmdline import run_scrapy, scrapy_env

# A fault suite (real tmpfs, a kernel limit, damaged state), like the kill suite: slow.
pytestmark = pytest.mark.slow

FEEDS = ("kunmingribao", "dalidaily", "yunnanwang")


def mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


@contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` at ``path``: a disk that really fills up."""
    path.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount(path: Path, options: str) -> None:
    done = mount("-o", f"remount,{options}", str(path))
    assert done.returncode == 0, done.stderr


@pytest.fixture
def reference(replica, tmp_path_factory) -> set[str]:
    """The posts a clean run of FEEDS mirrors on a healthy disk."""
    mirror = Mirror(tmp_path_factory.mktemp("reference"), replica_feeds(replica, *FEEDS))
    result = mirror.scrapy("crawlall")
    assert result.returncode == 0, result.output
    return set(check_mirror(mirror.dir).posts)


def assert_clean_stop(output: str, path: Path, error: str) -> None:
    assert error in output, output[-3000:]
    assert str(path) in output, output[-3000:]
    assert "Traceback" not in output, output[-5000:]


def test_a_disk_that_fills_up_stops_the_run_naming_the_path_and_loses_nothing(
    replica, tmp_path, reference
):
    with small_disk(tmp_path / "disk", "192k") as disk:
        mirror = Mirror(tmp_path, replica_feeds(replica, *FEEDS))
        mirror.dir = disk / "output"
        result = mirror.scrapy("crawlall")
        assert result.returncode == 1, result.output[-3000:]
        assert_clean_stop(result.output, disk, "No space left on device")
        assert "FAILED: cannot write to" in result.stdout
        state = check_mirror(mirror.dir)
        assert state.consistent, state
        assert state.hidden_temps == []  # a failed write leaves no temporary file
        assert 0 < len(state.posts) < len(reference)
        before = state.identities()

        remount(disk, "size=64m")
        result = mirror.scrapy("crawlall")
        assert result.returncode == 0, result.output[-3000:]
        state = check_mirror(mirror.dir)
        assert state.consistent and not state.posts_not_indexed, state
        assert set(state.posts) == reference  # none lost
        after = state.identities()
        assert {code: after[code] for code in before} == before  # none written twice


def test_a_read_only_mirror_stops_the_run_at_start_and_touches_nothing(replica, tmp_path):
    with small_disk(tmp_path / "disk", "16m") as disk:
        mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao"))
        mirror.dir = disk / "output"
        assert mirror.scrapy("crawlall").returncode == 0
        before = check_mirror(mirror.dir).identities()
        assert before

        remount(disk, "ro")
        mirror.write_catalog(replica_feeds(replica, "kunmingribao", "dalidaily"))
        replica.reset()
        for command in (["crawlall"], ["crawl", "dalidaily"]):
            result = mirror.scrapy(*command)
            assert result.returncode == 1, result.output[-3000:]
            assert_clean_stop(result.stderr, mirror.dir, "Read-only file system")
            assert "error: cannot write to the mirror folder" in result.stderr
        assert replica.stats()["requests"] == 0  # nothing fetched for posts it cannot write
        assert check_mirror(mirror.dir).identities() == before

        remount(disk, "rw")
        result = mirror.scrapy("crawlall")
        assert result.returncode == 0, result.output[-3000:]
        state = check_mirror(mirror.dir)
        assert state.consistent, state
        dali = [code for code in state.posts if code.startswith("NWDLRB")]
        assert len(dali) == 40  # what the read-only run could not take, taken now
        assert {code: state.identities()[code] for code in before} == before


def limit_file_size(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_write_the_kernel_refuses_stops_scrapy_crawl_with_status_1(replica, tmp_path):
    """RLIMIT_FSIZE: writes past 3,000 bytes fail with EFBIG (no root needed)."""
    mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao"))
    args = ["crawl", "kunmingribao", "-s", f"MIRROR_DIR={mirror.dir}",
            "-s", f"NEWS_FEEDS_FILE={mirror.catalog_path}",
            "-s", "AUTOTHROTTLE_ENABLED=False"]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", *args], cwd=tmp_path, env=scrapy_env(),
        capture_output=True, text=True, timeout=180, preexec_fn=lambda: limit_file_size(3000),
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-3000:]
    assert_clean_stop(output, mirror.dir / "_posts", "File too large")
    state = check_mirror(mirror.dir)
    assert state.consistent and state.hidden_temps == [], state
    big = [p for p in state.posts.values() if p.stat().st_size > 3000]
    assert big == []  # no file cut at the limit
    before = state.identities()

    result = run_scrapy(*args, cwd=tmp_path)
    assert result.returncode == 0, result.output[-3000:]
    state = check_mirror(mirror.dir)
    assert len(state.posts) == 40 and state.consistent
    assert {code: state.identities()[code] for code in before} == before


def damage_index(state_dir: Path, how: str) -> None:
    index = state_dir / INDEX_FILE
    if how == "deleted":
        index.unlink()
    elif how == "state folder deleted":
        shutil.rmtree(state_dir)
    elif how == "garbage":
        index.write_bytes(os.urandom(3000))
    elif how == "half a line":
        with open(index, "ab") as f:
            f.write(b"NWKMRB0000")
    elif how == "emptied":
        index.write_bytes(b"")


@pytest.fixture(scope="module")
def crawled(replica, tmp_path_factory) -> Path:
    """A mirror of kunmingribao, crawled once; each test damages a copy."""
    mirror = Mirror(tmp_path_factory.mktemp("crawled"), replica_feeds(replica, "kunmingribao"))
    assert mirror.scrapy("crawl", "kunmingribao").returncode == 0
    return mirror.dir


@pytest.mark.parametrize(
    "how, warning",
    [
        ("deleted", "is missing: rebuilding it from"),
        ("state folder deleted", "is missing: rebuilding it from"),
        ("garbage", "is damaged"),
        ("half a line", "ended in half a line"),
        ("emptied", "lacks 40 mirrored posts"),
    ],
)
def test_lost_or_damaged_dedup_state_is_rebuilt_from_the_files_with_a_warning(
    replica, mirror_factory, crawled, how, warning
):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao"))
    shutil.copytree(crawled, mirror.dir)
    before = check_mirror(mirror.dir)
    assert len(before.posts) == 40

    damage_index(mirror.dir / STATE_DIR, how)
    replica.reset()
    result = mirror.scrapy("crawl", "kunmingribao")
    assert result.returncode == 0, result.output[-3000:]
    assert warning in result.stderr and "WARNING" in result.stderr, result.stderr[-3000:]
    fetched = replica.stats()["by_path"]
    refetched = [p for p in fetched if any(f"={code}" in p for code in before.posts)]
    assert refetched == []  # rebuilt from the files: nothing mirrored is fetched again
    after = check_mirror(mirror.dir)
    assert after.consistent and not after.posts_not_indexed, after
    assert after.identities() == before.identities()
