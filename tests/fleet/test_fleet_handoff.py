"""Workers on hosts without the mirror's folder hand their posts to ``scrapy writer``."""

from __future__ import annotations

import re
import signal
import time

import pytest

from crawler.mirror.archive import parse
from crawler.mirror.paths import INDEX_FILE, STATE_DIR
from tests.conftest import DATA, Mirror, replica_feeds
from tests.fleet.conftest import finish, fleet_args, start_worker
from tests.utils.cmdline import run_scrapy

pytestmark = pytest.mark.slow

SEED = DATA / "seed" / "2022-02-20-NW202202202282281459.md"


def scrapy(mirror: Mirror, redis_url: str, *args: str):  # type: ignore[no-untyped-def]
    return run_scrapy(*args, *fleet_args(mirror, redis_url), cwd=mirror.root, timeout=120)


def test_posts_handed_through_redis_are_written_once_by_the_writer(replica, redis_url, tmp_path):
    mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao", "yunnanribao"))
    elsewhere = tmp_path / "worker-host"
    handoff = ("-s", "MIRROR_WRITE=redis", "-s", f"MIRROR_DIR={elsewhere}")

    # Until a writer has recorded the mirror's posts, a handing-over worker refuses.
    early = start_worker(mirror, redis_url, "crawlall", extra=handoff)
    assert finish(early) == 1
    assert "start `scrapy writer` on the host that holds the mirror" in early.output
    assert "fleet-secret-pw" not in early.output

    first = scrapy(mirror, redis_url, "writer", "--once")
    assert first.returncode == 0, first.output[-3000:]
    assert "0 posts written" in first.stdout

    workers = [start_worker(mirror, redis_url, "crawlall", extra=handoff) for _ in range(2)]
    assert [finish(w) for w in workers] == [0, 0], workers[0].output[-3000:]
    assert not list(elsewhere.rglob("*.md"))  # nothing written where the mirror is not
    assert mirror.posts() == {}
    handed = sum(int(w.out.split(" new posts")[0].rsplit(" ", 1)[1]) for w in workers)
    assert handed == 80

    status = scrapy(mirror, redis_url, "status")
    assert f"posts waiting to be written: {handed}" in status.stdout, status.output
    assert "redis://:***@127.0.0.1" in status.stdout and "fleet-secret-pw" not in status.output

    second = scrapy(mirror, redis_url, "writer", "--once")
    assert second.returncode == 0, second.output[-3000:]
    assert f"{handed} posts written, 0 already mirrored" in second.stdout
    posts = mirror.posts()
    assert len(posts) == handed
    assert posts[SEED.name].read_bytes() == SEED.read_bytes()
    for name, path in posts.items():
        assert parse(path.read_text("utf-8"), name).info_code in name
    assert (mirror.dir / "category" / "kunmingribao.html").exists()

    status = scrapy(mirror, redis_url, "status")
    assert "posts waiting to be written: 0" in status.stdout
    third = scrapy(mirror, redis_url, "writer", "--once")
    assert "0 posts written" in third.stdout


def test_what_a_killed_writer_was_writing_is_written_once_by_another(
    replica, redis_url, redis_server, tmp_path
):
    mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao", "yunnanribao"))
    handoff = ("-s", "MIRROR_WRITE=redis", "-s", f"MIRROR_DIR={tmp_path / 'worker-host'}")
    assert scrapy(mirror, redis_url, "writer", "--once").returncode == 0
    workers = [start_worker(mirror, redis_url, "crawlall", extra=handoff) for _ in range(2)]
    assert [finish(w) for w in workers] == [0, 0], workers[0].output[-3000:]
    client = redis_server.client()
    queue, writing = "news-mirror:posts", "news-mirror:posts:writing"
    assert client.llen(queue) == 80

    # A writer killed mid-post leaves what it took on its own list. "ghost"
    # died just now: its heartbeat has not expired yet, so a writer starting
    # now leaves its posts alone, and must take them back once it expires.
    for _ in range(3):
        client.lmove(queue, f"{writing}:ghost", "LEFT", "RIGHT")
    client.set("news-mirror:alive:ghost", "1", px=2000)
    # A real writer, killed with SIGKILL while it writes.
    killed = start_worker(mirror, redis_url, "writer")
    while len(mirror.posts()) < 10 and killed.proc.poll() is None:
        time.sleep(0.005)
    killed.proc.send_signal(signal.SIGKILL)
    assert finish(killed) == -signal.SIGKILL

    survivor = start_worker(mirror, redis_url, "writer")

    def pending() -> bool:  # posts to write, or a dead writer's list not taken back yet
        return len(mirror.posts()) < 80 or bool(
            client.llen(queue) or list(client.scan_iter(match=f"{writing}:*"))
        )

    deadline = time.monotonic() + 60
    while pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    survivor.proc.send_signal(signal.SIGTERM)
    assert finish(survivor) == 0, survivor.output[-3000:]
    # The ghost's 3 (with, in the same sweep, the killed writer's post if it died mid-post).
    taken = re.findall(r"Queued again (\d+) posts a stopped writer had not finished",
                       survivor.output)  # fmt: skip
    assert sum(map(int, taken)) >= 3, survivor.output[-3000:]

    posts = mirror.posts()
    assert len(posts) == 80
    for name, path in posts.items():  # whole, readable posts
        assert parse(path.read_text("utf-8"), name).info_code in name
    index = (mirror.dir / STATE_DIR / INDEX_FILE).read_text("utf-8").splitlines()
    assert sorted(index) == sorted(set(index)) and len(index) == 80, "each written once"
    assert not list(mirror.dir.rglob(".*.tmp"))
    assert client.llen(queue) == 0 and not list(client.scan_iter(match=f"{writing}:*"))
