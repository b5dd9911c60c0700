"""MIRROR_IMAGES=local: body images kept in the mirror by content hash, through
the crawl's own downloader, from the real replica over loopback (SPEC §10)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator

import pytest

from crawler.mirror.archive import POSTS_DIR
from crawler.mirror.images import IMAGES_DIR, image_sources, point_at
from tests.conftest import Mirror, ReplicaServer, replica_feeds


@pytest.fixture
def own_replica() -> Iterator[ReplicaServer]:
    """A replica of this test's own: its image host is switched off and on."""
    server = ReplicaServer()
    yield server
    server.stop()


def posts(mirror: Mirror) -> dict[str, str]:
    return {p.name: p.read_text("utf-8") for p in sorted((mirror.dir / POSTS_DIR).glob("*.md"))}


def test_images_are_kept_once_by_content_and_posts_point_at_them(own_replica, tmp_path):
    (tmp_path / "remote").mkdir()
    (tmp_path / "local").mkdir()
    hotlinked = Mirror(tmp_path / "remote", replica_feeds(own_replica, "kunmingribao"))
    assert hotlinked.scrapy("crawl", "kunmingribao").returncode == 0
    kept = Mirror(tmp_path / "local", replica_feeds(own_replica, "kunmingribao"))
    result = kept.scrapy("crawl", "kunmingribao", "-s", "MIRROR_IMAGES=local")
    assert result.returncode == 0, result.output

    remote, local = posts(hotlinked), posts(kept)
    assert remote.keys() == local.keys()  # no post lost to its images
    images = kept.dir / IMAGES_DIR
    shown = 0
    for name, text in remote.items():
        before, after = image_sources(text), image_sources(local[name])
        assert len(before) == len(after), name
        mapping = {}
        for source, now in zip(before, after, strict=True):
            if not source.startswith(f"{own_replica.url}/images/"):
                assert now == source  # another host's image (offsite): hot-linked
                continue
            assert now.startswith(f"//finews.withounder.com/{IMAGES_DIR}/"), (name, now)
            mapping[source] = now
            stored = images / now.rsplit("/", 1)[1]
            content = stored.read_bytes()
            # stored by content hash: the name is the bytes' sha256
            assert stored.name == hashlib.sha256(content).hexdigest()[:32] + ".png"
            assert content.startswith(b"\x89PNG")
            shown += 1
        assert local[name] == point_at(text, mapping)  # nothing else changed
    assert shown >= 5
    # The default hot-links, as the finews mirror did: no image kept.
    assert not (hotlinked.dir / IMAGES_DIR).exists()
    # Stored once: one file per distinct content.
    files = list(images.iterdir())
    assert len(files) == len({f.read_bytes() for f in files})
    assert "'mirror/kunmingribao/images/local':" in result.stderr

    # `scrapy verify` reports a local image that is missing.
    assert kept.scrapy("verify").returncode == 0
    gone = files[0]
    gone.unlink()
    verify = kept.scrapy("verify")
    assert verify.returncode == 1
    assert f"local image {IMAGES_DIR}/{gone.name} is missing" in verify.stdout


def test_an_image_that_fails_keeps_its_url_and_is_fetched_by_the_next_run(own_replica, tmp_path):
    own_replica.get("/_replica/images?down=1")
    mirror = Mirror(tmp_path, replica_feeds(own_replica, "kunmingribao"))
    first = mirror.scrapy("crawl", "kunmingribao", "-s", "MIRROR_IMAGES=local")
    assert first.returncode == 0, first.output
    written = posts(mirror)
    with_images = {
        n: t for n, t in written.items() if any("/images/" in s for s in image_sources(t))
    }
    assert len(with_images) >= 5
    for text in with_images.values():  # written, with the remote URLs
        assert all(s.startswith(own_replica.url) for s in image_sources(text) if "/images/" in s)
    assert re.search(r"Image http://\S+/images/\S+ of post \S+ \(feed kunmingribao\) could "
                     r"not be downloaded: the post keeps its remote URL", first.stderr)  # fmt: skip
    pending = mirror.dir / ".mirror" / "images" / "pending-kunmingribao.jsonl"
    noted = {json.loads(line)["post"] for line in pending.read_text("utf-8").splitlines()}
    assert noted == set(with_images)

    own_replica.get("/_replica/images?down=0")
    second = mirror.scrapy("crawl", "kunmingribao", "-s", "MIRROR_IMAGES=local")
    assert second.returncode == 0, second.output
    assert second.stdout.startswith("kunmingribao: 0 new")
    now = posts(mirror)
    assert now.keys() == written.keys()
    for name in with_images:
        sources = [s for s in image_sources(now[name]) if "/images/" in s]
        assert sources and all(
            s.startswith(f"//finews.withounder.com/{IMAGES_DIR}/") for s in sources
        ), name
        for source in sources:
            assert (mirror.dir / IMAGES_DIR / source.rsplit("/", 1)[1]).is_file()
    assert not pending.exists()
    assert mirror.scrapy("verify").returncode == 0


def test_image_sources_and_pointing_at_local_copies():
    body = '<p><img src="http://a/x.png?a=1&amp;b=2" alt="x"></p><img alt="y" src="/y.png">'
    assert image_sources(body) == ["http://a/x.png?a=1&amp;b=2", "/y.png"]
    assert point_at(body, {"http://a/x.png?a=1&amp;b=2": "/assets/images/1.png"}) == (
        '<p><img src="/assets/images/1.png" alt="x"></p><img alt="y" src="/y.png">'
    )


def test_a_misspelt_images_setting_stops_the_crawl_with_one_line(replica, tmp_path):
    """Not a silent run with hot-linked images: the user asked for something."""
    mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao"))
    result = mirror.scrapy("crawl", "kunmingribao", "-s", "MIRROR_IMAGES=lokal")
    assert result.returncode == 2, result.output
    assert "MIRROR_IMAGES must be 'remote' or 'local', not 'lokal'" in result.stderr
    assert "Traceback" not in result.output
    assert not list(mirror.dir.glob(f"{POSTS_DIR}/*.md"))
