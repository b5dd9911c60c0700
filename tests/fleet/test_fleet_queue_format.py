"""The fleet's queued requests are JSON: an entry someone wrote into Redis is data, never code.

A real ``redis-server`` and a real worker process: entries planted in a
feed's queue before the worker starts are read as the fleet reads its own.
A JSON request (what a worker queues) is fetched; a pickle built to create a
file when unpickled, garbage, and JSON naming a class are each logged, naming
what they were, and skipped.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from crawler.fleet import serializer
from crawler.fleet.connection import Keys
from crawler.source.listings import Entry
from tests.conftest import Mirror, replica_feeds
from tests.fleet.conftest import RedisServer, finish, start_worker

pytestmark = pytest.mark.slow

PLANTED = "NWKMRB00000001"  # on page 4 of kunmingribao's listing: never reached here


class Touch:
    """Unpickled, creates ``path``: what a writable Redis could make a pickle-reading worker run."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.path,))


def queued_article(url: str, code: str) -> bytes:
    """A queue entry as a worker writes it for an article request."""
    request = {
        "url": f"{url}/html_News/NewsShare.html?infoCode={code}",
        "callback": "parse_article",
        "errback": "article_failed",
        "meta": {"info_code": code},
        "cb_kwargs": {
            "entry": Entry(code),
            "share_url": f"{url}/html_News/NewsShare.html?infoCode={code}",
        },
        "dont_filter": True,
        "headers": {b"Accept-Language": [b"zh-CN"]},
    }
    return code.encode() + b"\n" + serializer.dumps(request)


def test_a_worker_reads_json_entries_and_skips_what_is_not_one(
    replica, redis_server: RedisServer, redis_url, tmp_path
):
    mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao", kunmingribao={"max_pages": 1}))
    marker = tmp_path / "unpickled"
    planted = {
        b"\n" + pickle.dumps(Touch(marker), protocol=4): "pickled data, protocol 4",
        b"NWKMRBX\n" + pickle.dumps(Touch(marker), protocol=2): "pickled data, protocol 2",
        b"\nnot json at all": "neither JSON nor a request",
        b"no newline and no request": "neither JSON nor a request",
        b'\n{"url": "http://127.0.0.1/", "_class": "subprocess.Popen"}': "JSON of another shape",
        queued_article(replica.url, PLANTED): "",
    }
    key = Keys("news-mirror").queue_template % {"spider": "kunmingribao"}
    with redis_server.client() as client:
        client.zadd(key, {member: 0 for member in planted})

    worker = start_worker(mirror, redis_url, "crawl", "kunmingribao")
    assert finish(worker) == 0, worker.output[-4000:]
    log = worker.output
    assert not marker.exists(), "a pickle from Redis was unpickled"
    skipped = [x for x in log.splitlines() if "Skipped an entry of feed kunmingribao's queue" in x]
    assert len(skipped) == len([m for m, what in planted.items() if what]), skipped
    for member, what in planted.items():
        if what:
            assert any(f": {what}, not a request" in x and repr(member[:20])[2:-1] in x
                       for x in skipped), (what, skipped)  # fmt: skip
    assert "Traceback" not in log
    # The JSON entry was a request like any other: fetched and mirrored, as
    # was the listing's page 1.
    names = mirror.posts()
    assert any(PLANTED in name for name in names), sorted(names)
    assert len(names) >= 10
    with redis_server.client() as client:
        assert client.zcard(key) == 0


class ArticleSpider:
    name = "kunmingribao"

    def parse_article(self, response):  # type: ignore[no-untyped-def]
        pass

    def article_failed(self, failure):  # type: ignore[no-untyped-def]
        pass


def test_a_request_comes_back_from_json_as_it_went_in():
    from scrapy import Request
    from scrapy.utils.request import request_from_dict

    spider = ArticleSpider()
    request = Request(
        "http://127.0.0.1/html_News/NewsShare.html?infoCode=C1",
        callback=spider.parse_article, errback=spider.article_failed, method="POST",
        headers={"Accept-Language": "zh-CN"}, body=b"\x00\xff\x80",
        cb_kwargs={"entry": Entry("1", "http://x/1", {"title": "标题"}, "NW1"), "share_url": "s"},
        meta={"info_code": "C1", "depth": 2, "$b": "a key that looks like a tag"},
        priority=10, dont_filter=True,
    )  # fmt: skip
    data = serializer.dumps(request.to_dict(spider=spider))
    assert b"\x80" not in data and data.startswith(b"{")
    back = request_from_dict(serializer.loads(data), spider=spider)
    for attr in (
        "url",
        "method",
        "body",
        "headers",
        "cb_kwargs",
        "meta",
        "priority",
        "dont_filter",
    ):
        assert getattr(back, attr) == getattr(request, attr), attr
    assert back.callback == spider.parse_article and back.errback == spider.article_failed
    with pytest.raises(TypeError, match="cannot hold a object"):
        serializer.dumps({"url": "http://x/", "meta": {"thing": object()}})
