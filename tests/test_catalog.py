from __future__ import annotations

import pytest
import yaml

from crawler.source.catalog import CatalogError, load_catalog, parse_catalog
from replica.feeds import REPLICA_CATALOG
from tests.utils.cmdline import run_scrapy

SHIPPED = ["emnews", "regional", "market37", "market38", "market39", "kunmingribao"]
REPLICA_KINDS = [
    "kunmingribao", "chunchengwanbao", "yunnanribao", "yunnanwang",
    "dalidaily", "yunnanxinwen", "qujingribao",
]  # fmt: skip
CONTENT_API = "http://choicewzp1.eastmoney.com/NewsData/GetNewsText.do?id={infoCode}"
SHARE = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode={infoCode}"


def test_shipped_catalog_is_the_real_source():
    """SPEC §2.6: the endpoints the finews mirror read, with their real query strings."""
    feeds = load_catalog()
    assert list(feeds) == SHIPPED
    emnews = feeds["emnews"]
    assert emnews.list_api == "http://183.136.162.242/web/webapi?type=102&count=100&newsid=1"
    assert not emnews.paged and emnews.rolling and emnews.category == "emnews"
    assert emnews.outlet + "新闻" == "东财滚动新闻"
    assert emnews.list_records == "records"
    assert dict(emnews.list_fields) == {
        "infoCode": "infoCode", "key": "id", "title": "title", "date": "showtime",
        "outlet": "medianame", "digest": "digest", "url": "url_w",
    }  # fmt: skip
    assert emnews.api == CONTENT_API and emnews.api_fields["body"] == "content"
    assert not emnews.share_url  # the record's url_w
    regional = feeds["regional"]
    assert regional.list_api == "http://183.136.162.242/web/webapi?type=45&count=100&newsid=1"
    assert regional.auto_outlet and regional.list_records == "nodeList"
    assert (
        regional.list_fields["infoCode"] == "infocode" and regional.list_fields["outlet"] == "from"
    )
    for market in ("37", "38", "39"):
        feed = feeds[f"market{market}"]
        assert feed.list_api == (
            "http://43.240.125.15:1818/information/newmarket/web/webapi"
            f"?marketType={market}&count=100"
        )
        assert feed.auto_outlet and feed.list_records == "record"
        assert (feed.list_fields["date"], feed.list_fields["outlet"]) == ("datetime", "medianame")
    kunming = feeds["kunmingribao"]
    assert kunming.list_api == regional.list_api and kunming.outlets == {"昆明日报"}
    assert kunming.category == "kunmingribao"
    for name in SHIPPED[1:]:
        feed = feeds[name]
        assert not feed.paged and not feed.rolling
        assert feed.api == CONTENT_API and feed.api_fields["body"] == "text"
        assert feed.share_url == SHARE


def test_replica_catalog_has_every_kind_of_feed():
    feeds = load_catalog(REPLICA_CATALOG)
    assert list(feeds) == REPLICA_KINDS
    assert feeds["kunmingribao"].outlet == "昆明日报"
    assert feeds["kunmingribao"].category == "kunmingribao"
    assert feeds["chunchengwanbao"].category == "chunchengwanbao"  # pinyin of 春城晚报
    assert feeds["yunnanribao"].api and feeds["yunnanribao"].start_urls
    assert feeds["yunnanwang"].list_api and feeds["yunnanwang"].list_records == "records"
    assert feeds["dalidaily"].list_fields["infoCode"] == "infocode"
    assert feeds["yunnanxinwen"].auto_outlet
    assert feeds["qujingribao"].outlets == {"曲靖日报"}
    assert all(feed.paged for feed in feeds.values())


def test_scrapy_list_prints_each_feed_as_a_spider(tmp_path):
    result = run_scrapy("list", cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert result.stdout.split() == sorted(SHIPPED) or result.stdout.split() == SHIPPED


GOOD = {"outlet": "昆明日报", "start_urls": ["http://h/c.html"]}


@pytest.mark.parametrize(
    ("spec", "key", "message"),
    [
        ({**GOOD, "colour": "red"}, "colour", "unknown key"),
        ({"start_urls": ["http://h/"]}, "outlet", "is required"),
        ({"outlet": "x"}, "start_urls", "exactly one of"),
        ({**GOOD, "list_api": "http://h/l?p={page}"}, "start_urls", "exactly one of"),
        ({**GOOD, "share_link": r"infoCode=(\w+)"}, "share_link", "named group 'infoCode'"),
        ({**GOOD, "share_link": r"infoCode=(?P<infoCode>"}, "share_link", "not a valid regex"),
        ({**GOOD, "timezone": "Mars/Olympus"}, "timezone", "not a known time zone"),
        ({**GOOD, "encoding": "klingon"}, "encoding", "not a known encoding"),
        ({**GOOD, "max_pages": 0}, "max_pages", "at least 1"),
        ({**GOOD, "share_url": "http://h/x"}, "share_url", "must contain {infoCode}"),
        ({**GOOD, "article": {"titel": "h1"}}, "article.titel", "unknown field"),
        ({**GOOD, "article": {"title": "h1[["}}, "article.title", "not a valid CSS"),
        ({**GOOD, "start_urls": ["ftp://h/"]}, "start_urls", "not an http(s) URL"),
        ({"outlet": "x", "list_api": "http://h/l?p={pg}"}, "list_api", "no placeholder but"),
        (
            {
                "outlet": "x",
                "list_api": "http://h/l",
                "share_url": "http://h/s?id={infoCode}",
                "post": "daily",
            },
            "post",
            "must be one of outlet, rolling",
        ),
        (
            {
                "outlet": "auto",
                "list_api": "http://h/l",
                "share_url": "http://h/s?id={infoCode}",
                "post": "rolling",
            },
            "post",
            "one outlet, not 'auto'",
        ),
        ({**GOOD, "post": "rolling"}, "post", "reads a 'list_api'"),
        ({"outlet": "x", "list_api": "http://h/l?p={page}"}, "share_url", "needs 'share_url'"),
    ],
)
def test_catalog_errors_name_feed_and_key(spec, key, message):
    with pytest.raises(CatalogError) as info:
        parse_catalog({"feeds": {"myfeed": spec}}, "cat.yaml")
    text = str(info.value)
    assert text.startswith("feed catalog cat.yaml: feed 'myfeed', key ")
    assert f"key {key!r}" in text and message in text


def test_a_bad_catalog_stops_any_command_with_one_clear_line(tmp_path):
    catalog = tmp_path / "feeds.yaml"
    catalog.write_text(
        yaml.safe_dump({"feeds": {"good": GOOD, "broken": {**GOOD, "timezone": "Nowhere/X"}}}),
        "utf-8",
    )
    for command in (["list"], ["crawl", "good"], ["crawlall"]):
        result = run_scrapy(*command, "-s", f"NEWS_FEEDS_FILE={catalog}", cwd=tmp_path)
        assert result.returncode == 2, result.output
        assert "Traceback" not in result.output
        assert f"feed catalog {catalog}: feed 'broken', key 'timezone'" in result.stderr
    assert not (tmp_path / "output").exists()


def test_a_missing_catalog_file_is_named(tmp_path):
    result = run_scrapy("list", "-s", f"NEWS_FEEDS_FILE={tmp_path}/nope.yaml", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.output
    assert f"feed catalog {tmp_path}/nope.yaml: cannot be read" in result.stderr
