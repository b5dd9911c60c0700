"""Workers on hosts without the mirror's folder hand their posts to ``scrapy writer``."""

from __future__ import annotations

from crawler.archive import parse
from tests.conftest import DATA, Mirror, replica_feeds
from tests.fleet.conftest import fleet_args, finish, start_worker
from tests.utils.cmdline import run_scrapy

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
