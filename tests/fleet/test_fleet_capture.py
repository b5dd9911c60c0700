"""A fleet with MIRROR_CAPTURE: each worker writes its own capture files, and
the posts they wrote together are rebuilt from them with no request (SPEC §8, §11)."""

from __future__ import annotations

import re

import pytest
from scrapy import Request

from crawler.fleet import serializer
from crawler.middlewares.capture import LISTING
from crawler.mirror.capture import Exchange, capture_dir, read_provenance
from tests.conftest import Mirror, replica_feeds
from tests.fleet.conftest import finish, start_worker

FEEDS = ("kunmingribao", "yunnanwang")  # an HTML listing, a JSON list API


def test_a_queued_article_request_carries_its_listing_exchange():
    exchange = Exchange(
        key="k1", method="GET", url="http://x/list?page=1",
        request_headers=[("Host", "x"), ("Accept-Encoding", "gzip")], request_body=b"",
        response_url="http://x/list?page=1", status=200, protocol="HTTP/1.1",
        headers=[("Content-Type", "application/json; charset=gbk")], body=b"\x8b\x1f\xff{}",
    )  # fmt: skip
    request = Request("http://x/a", meta={"info_code": "A1", LISTING: exchange})
    back = serializer.loads(serializer.dumps(request.to_dict()))
    assert back["meta"][LISTING] == exchange
    with pytest.raises(ValueError, match="a queued exchange has no method"):
        serializer.loads(b'{"url": "http://x/", "meta": {"m": {"$exchange": {"key": "k"}}}}')


@pytest.mark.slow
def test_workers_write_their_own_capture_files_and_the_fleet_rebuilds_from_them(
    slow_replica, redis_url, tmp_path
):
    mirror = Mirror(tmp_path, replica_feeds(slow_replica, *FEEDS))
    extra = ("-s", "MIRROR_CAPTURE=True", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2")
    workers = [start_worker(mirror, redis_url, "crawlall", extra=extra) for _ in range(2)]
    assert [finish(w) for w in workers] == [0, 0], [w.output[-3000:] for w in workers]
    posts = {name: path.read_bytes() for name, path in mirror.posts().items()}
    assert posts
    files = sorted(capture_dir(mirror.dir).glob("*.warc.gz"))
    pids = {re.match(r"\d{14}-.+-(\d+)-", f.name)[1] for f in files}  # type: ignore[index]
    written = {line["records"][0]["file"] for line in read_provenance(mirror.dir).values()}
    writers = {re.match(r"\d{14}-.+-(\d+)-", f)[1] for f in written}  # type: ignore[index]
    assert len(writers) == 2, "both workers wrote posts, each into its own files"
    assert writers <= pids
    # Every post has its listing record too, whichever worker read the listing.
    assert all(len(line["records"]) == 2 for line in read_provenance(mirror.dir).values())

    verify = mirror.scrapy("verify", "--capture")
    assert verify.returncode == 0, verify.output
    slow_replica.reset()
    for name in posts:
        (mirror.posts()[name]).unlink()
    result = mirror.scrapy("rebuild")
    assert result.returncode == 0, result.output
    assert f"0 unchanged, 0 rewritten, {len(posts)} restored" in result.stdout
    assert {n: p.read_bytes() for n, p in mirror.posts().items()} == posts
    assert sum(slow_replica.stats()["by_kind"].values()) == 0
