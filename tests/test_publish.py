"""MIRROR_GIT / MIRROR_GIT_PUSH: the mirror published with real git, to a local
bare repository (SPEC §10)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from crawler.mirror.archive import POSTS_DIR, write
from crawler.mirror.publish import GitPublisher, parse_push
from crawler.mirror.reader import ArchiveReader
from tests.conftest import Mirror, replica_feeds

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(where: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=where, capture_output=True, text=True, check=True, timeout=60
    )
    return proc.stdout


def commits(where: Path, ref: str = "HEAD") -> list[str]:
    return git(where, "log", "--format=%s", ref).splitlines()


def tracked(where: Path, ref: str = "HEAD") -> set[str]:
    return set(git(where, "ls-tree", "-r", "--name-only", ref).splitlines())


@pytest.fixture
def remote(tmp_path) -> Path:
    bare = tmp_path / "published.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    return bare


def test_each_run_that_changed_the_mirror_is_one_commit_pushed(replica, tmp_path, remote):
    mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao"))
    publish = ["-s", "MIRROR_GIT=True", "-s", f"MIRROR_GIT_PUSH={remote} main"]
    first = mirror.scrapy("crawlall", *publish)
    assert first.returncode == 0, first.output
    summary = first.stdout.splitlines()[1]
    assert summary.startswith("1 feed, ") and summary.endswith(" new posts")
    root = mirror.dir
    assert commits(root) == [summary]
    body = git(root, "log", "-1", "--format=%b").strip()
    assert body == first.stdout.splitlines()[0]  # the feed's line
    files = tracked(root)
    posts = {p.relative_to(root).as_posix() for p in ArchiveReader(root).files()}
    assert posts and posts <= files
    assert {".gitignore", "_config.yml", "category/kunmingribao.html", "index.html"} <= files
    assert not [f for f in files if f.startswith((".mirror/", "_site/")) or f.endswith(".tmp")]
    assert git(root, "status", "--porcelain") == ""
    # Published: the bare repository's main is the same commit.
    assert git(remote, "rev-parse", "main") == git(root, "rev-parse", "HEAD")

    # Nothing new: no commit.
    second = mirror.scrapy("crawlall", *publish)
    assert second.returncode == 0, second.output
    assert commits(root) == [summary]


def test_a_failed_push_is_carried_by_the_next_run(replica, tmp_path, remote):
    mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao"))
    root = mirror.dir
    gone = tmp_path / "no-such-remote.git"
    failed = mirror.scrapy("crawl", "kunmingribao", "-s", "MIRROR_GIT=True",
                           "-s", f"MIRROR_GIT_PUSH={gone} main")  # fmt: skip
    assert failed.returncode == 0, failed.output  # the crawl itself went well
    assert "error: the mirror was not pushed: `git push -q` in" in failed.stderr
    assert "the next run will try again" in failed.stderr and "Traceback" not in failed.output
    [committed] = commits(root)
    assert committed.startswith("1 feed, ")

    # What a run killed between writing a post and committing it leaves: a
    # post on disk, not committed; and a temporary file of a write in flight.
    newest = max(ArchiveReader(root).posts(), key=lambda p: p.date)
    late = write(root, replace(newest, info_code="NWLATE0000001", date=newest.date), "")
    (root / POSTS_DIR / ".x.md.host-1.tmp").write_text("partial", "utf-8")
    (root / "_site").mkdir()
    (root / "_site" / "index.html").write_text("built", "utf-8")

    again = mirror.scrapy("crawl", "kunmingribao", "-s", "MIRROR_GIT=True",
                          "-s", f"MIRROR_GIT_PUSH={remote} main")  # fmt: skip
    assert again.returncode == 0, again.output
    assert "error: the mirror" not in again.stderr
    history = commits(root)
    assert len(history) == 2 and history[1] == committed
    assert late.relative_to(root).as_posix() in tracked(root)
    assert not [f for f in tracked(root) if f.endswith(".tmp") or f.startswith("_site/")]
    # Both commits reached the remote.
    assert commits(remote, "main") == history


def test_an_existing_repository_and_gitignore_are_kept(tmp_path):
    root = tmp_path / "mirror"
    (root / POSTS_DIR).mkdir(parents=True)
    git(root, "init", "-q")
    (root / ".gitignore").write_text("notes.txt", "utf-8")  # the user's, no final newline
    (root / "notes.txt").write_text("mine", "utf-8")
    (root / POSTS_DIR / "2026-12-01-NW1.md").write_text("---\n", "utf-8")
    published = GitPublisher(root).publish("1 feed, 1 new post")
    assert published.commit and published.error is None and published.pushed is None
    assert (root / ".gitignore").read_text("utf-8").splitlines() == [
        "notes.txt",
        "/.mirror/",
        "/_site/",
        ".*.tmp",
        "/.search-*/",
    ]
    assert tracked(root) == {".gitignore", "_posts/2026-12-01-NW1.md"}
    # A git killed mid-commit left its lock: the next commit goes through.
    (root / ".git" / "index.lock").write_text("", "utf-8")
    (root / POSTS_DIR / "2026-12-01-NW2.md").write_text("---\n", "utf-8")
    assert GitPublisher(root).publish("1 feed, 1 new post").commit


def test_mirror_git_push_names_a_remote_and_a_branch(replica, tmp_path):
    assert parse_push("origin gh-pages") == ("origin", "gh-pages")
    assert parse_push("") is None
    with pytest.raises(ValueError, match="a remote and a branch"):
        parse_push("origin")
    mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao"))
    result = mirror.scrapy("crawl", "kunmingribao", "-s", "MIRROR_GIT=True",
                           "-s", "MIRROR_GIT_PUSH=origin")  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: MIRROR_GIT_PUSH must be a remote and a branch, e.g. 'origin main', not 'origin'"
    )
    assert not mirror.dir.exists() or not (mirror.dir / "_posts").exists()


def test_without_mirror_git_nothing_is_committed(replica, tmp_path):
    mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao"))
    result = mirror.scrapy("crawl", "kunmingribao")
    assert result.returncode == 0, result.output
    assert not (mirror.dir / ".git").exists() and not (mirror.dir / ".gitignore").exists()
