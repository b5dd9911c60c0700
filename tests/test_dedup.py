from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pytest

from crawler.mirror.archive import POSTS_DIR, stage, writer_id
from crawler.mirror.dedup import FileDedupStore
from crawler.pipelines.write import place_once


def write_post(root: Path, folder: str, name: str) -> Path:
    path = root / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("---\n", "utf-8")
    return path


def test_commit_claim_and_reopen(tmp_path):
    store = FileDedupStore(tmp_path)
    assert store.claim("A1")
    assert not store.claim("A1"), "a claimed article is fetched once"
    path = store.commit("A1", lambda: write_post(tmp_path, "_posts", "2024-01-01-A1.md"))
    assert path and path.exists()
    assert store.is_known("A1") and not store.claim("A1")
    store.close()
    again = FileDedupStore(tmp_path)
    assert again.is_known("A1") and not again.is_known("B2")
    again.close()


def test_second_store_sees_the_first_ones_posts_and_does_not_write_twice(tmp_path):
    one, two = FileDedupStore(tmp_path), FileDedupStore(tmp_path)
    writes: list[str] = []

    def writer(name: str):
        def write() -> Path:
            writes.append(name)
            return write_post(tmp_path, "_posts", f"2024-01-01-{name}.md")

        return write

    assert one.commit("C3", writer("C3"))
    assert two.commit("C3", writer("C3")) is None
    assert writes == ["C3"]
    two.refresh()
    assert two.is_known("C3")
    one.close(), two.close()


def test_index_is_rebuilt_from_file_names_when_deleted_or_damaged(tmp_path, caplog):
    write_post(tmp_path, "_posts", "2024-01-02-NEW1.md")
    write_post(tmp_path, "old_post", "2023-01-02-OLD1.md")
    write_post(tmp_path, "_posts", "not-a-post.txt")
    store = FileDedupStore(tmp_path)
    assert store.is_known("NEW1") and store.is_known("OLD1") and len(store) == 2
    store.close()
    store.index_path.unlink()
    store = FileDedupStore(tmp_path)
    assert store.is_known("OLD1")
    assert "missing: rebuilding it from 2 post files" in caplog.text
    store.close()
    store.index_path.write_bytes(b"\xff\xfe garbage\n")
    store = FileDedupStore(tmp_path)
    assert store.is_known("NEW1") and store.is_known("OLD1")
    assert "damaged" in caplog.text
    store.close()


def test_posts_written_without_index_line_are_added(tmp_path, caplog):
    store = FileDedupStore(tmp_path)
    store.close()
    write_post(tmp_path, "_posts", "2024-01-02-KILLED.md")  # a crash after the rename
    store = FileDedupStore(tmp_path)
    assert store.is_known("KILLED")
    assert "lacks 1 mirrored posts" in caplog.text
    store.close()


def test_dropped_articles_wait_for_the_retry_window(tmp_path):
    store = FileDedupStore(tmp_path, retry_dropped_hours=24)
    assert store.claim("BAD1")
    store.forget_drop("BAD1")
    assert not store.claim("BAD1")
    store.close()
    later = FileDedupStore(tmp_path, retry_dropped_hours=24)
    assert not later.claim("BAD1")
    later.close()
    impatient = FileDedupStore(tmp_path, retry_dropped_hours=0)
    assert impatient.claim("BAD1")
    impatient.close()


def test_walk_markers(tmp_path):
    store = FileDedupStore(tmp_path)
    assert store.begin_walk("f") is True, "no walk of the feed has finished yet"
    store.end_walk("f")
    assert store.begin_walk("f") is False
    assert store.begin_walk("f") is True, "a walk never ended was cut short"
    store.end_walk("f")
    assert store.begin_walk("f") is False
    store.close()


def test_temporary_files_of_a_killed_writer_go_at_the_next_start_and_live_ones_stay(
    tmp_path, caplog
):
    posts = tmp_path / POSTS_DIR
    posts.mkdir(parents=True)
    host = writer_id().rpartition("-")[0]
    stale = posts / f".2024-01-01-NWKMRB00000001.md.{host}-{_dead_pid()}.k3j2h1g0.tmp"
    live = posts / f".2024-01-01-NWKMRB00000002.md.{writer_id()}.a1b2c3d4.tmp"  # this process
    for path in (stale, live):
        path.write_text('---\nlayout: post\ntitle: "half', "utf-8")
    with caplog.at_level(logging.INFO, logger="crawler.mirror.dedup"):
        store = FileDedupStore(tmp_path)
    store.close()
    assert not stale.exists() and live.exists()
    assert f"Removed 1 temporary files left in {tmp_path} by a process" in caplog.text
    assert not store.is_known("NWKMRB00000001") and not store.is_known("NWKMRB00000002")


def test_temporary_files_of_a_killed_process_go_anywhere_in_the_mirror(tmp_path):
    """Category and site pages, state files: each written atomically too, each
    left half-written by a process killed mid-write. A file of another shape
    (a user's, however old) is not ours to remove."""
    dead = f"{writer_id().rpartition('-')[0]}-{_dead_pid()}"
    stale = [
        tmp_path / "category" / f".kunmingribao.html.{dead}.0a1b2c3d.tmp",
        tmp_path / f"._config.yml.{dead}.0a1b2c3d.tmp",
        tmp_path / ".mirror" / f".backoff.json.{dead}.0a1b2c3d.tmp",
        tmp_path / "feed" / "kunmingribao" / f".index.xml.{dead}.0a1b2c3d.tmp",
    ]
    users = tmp_path / "_posts" / ".notes.tmp"
    for path in [*stale, users]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half", "utf-8")
    os.utime(users, (0, 0))
    FileDedupStore(tmp_path).close()
    assert [p for p in stale if p.exists()] == []
    assert users.exists()


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_staged_post_is_placed_once_and_otherwise_removed(tmp_path):
    """The write pipeline's last step (the file staged by a worker): placed and
    indexed; removed, the other's file kept, when another crawl mirrored the
    article first; removed when placing it fails."""
    one, two = FileDedupStore(tmp_path), FileDedupStore(tmp_path)
    path = tmp_path / POSTS_DIR / "2024-01-01-D4.md"
    assert place_once(one, "D4", stage(path, "first\n"), path, True) == path
    late = stage(path, "second\n")
    assert place_once(two, "D4", late, path, True) is None
    assert path.read_text() == "first\n" and two.is_known("D4")
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]

    taken = tmp_path / POSTS_DIR / "2024-01-01-E5.md"
    taken.mkdir()  # the post's name taken by a folder: the rename fails
    staged = stage(taken, "third\n")
    with pytest.raises(OSError):
        place_once(one, "E5", staged, taken, True)
    assert not Path(staged).exists() and not one.is_known("E5")
    one.close(), two.close()
