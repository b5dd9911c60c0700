"""Feeds as the source publishes them: JSON list APIs, outlet filters, drift (SPEC §2.4).

Real crawls of the replica over loopback, counted with its request stats and
read back from the files they write.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.request import urlopen

import pytest

from crawler.mirror.archive import FILENAME
from crawler.mirror.dedup import FileDedupStore
from crawler.source.catalog import parse_catalog
from crawler.source.dates import parse_date
from tests.conftest import ReplicaServer, replica_feeds

SHARE_URL = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode={infoCode}"


def get_json(url: str) -> object:
    with urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def records(url_template: str, path: str) -> list[dict]:
    """Every record of a list API, page after page until an empty one."""
    out: list[dict] = []
    for page in range(1, 100):
        data = get_json(url_template.format(page=page))
        for step in path.split("."):
            data = data[step]  # type: ignore[index]
        if not data:
            return out
        out.extend(data)  # type: ignore[arg-type]
    raise AssertionError("the list API never ended")


def summary_line(output: str, feed: str) -> str:
    """The per-feed summary: printed by crawlall, logged by crawl."""
    for line in output.splitlines():
        _, _, rest = line.rpartition("Feed summary: ")
        if rest.startswith(f"{feed}: "):
            return rest
    raise AssertionError(f"no summary of feed {feed} in:\n{output}")


def content_ids(stats: dict) -> list[str]:
    """The infoCodes whose body was asked for, in any form the replica answers."""
    ids = []
    for path, n in stats["by_path"].items():
        m = re.search(r"(?:/api/content\?id=|GetNewsText\.do\?id=|infoCode=)([^&]+)", path)
        if m:
            ids += [m.group(1)] * n
    return ids


def aggregate_feed(base: str, name: str, outlets: list[str] | None = None, **extra) -> dict:
    """A list-API feed on the replica's `record` aggregate (昆明日报 and others)."""
    spec = {
        "outlet": outlets[0] if outlets else "auto",
        "list_api": f"{base}/api/list/kunming?page={{page}}",
        "list_records": "record",
        "api": f"{base}/api/content?id={{infoCode}}",
        "api_fields": {"body": "text"},
        "share_url": SHARE_URL,
        **extra,
    }
    if outlets:
        spec["outlets"] = outlets
        spec["category"] = name
    return spec


@pytest.fixture
def clean() -> Iterator[ReplicaServer]:
    """A replica of the source serving no bad items, for this test alone."""
    server = ReplicaServer("--no-faults")
    yield server
    server.stop()


# --- List APIs -------------------------------------------------------------


@pytest.mark.parametrize(
    ("feed", "body_key", "max_pages"),
    [("yunnanwang", "text", 5), ("dalidaily", "content", 5), ("yunnanxinwen", "text", 3)],
    ids=["records", "nodeList", "data.list"],
)
def test_list_api_records_fill_what_the_content_api_lacks(
    clean, mirror_factory, feed, body_key, max_pages
):
    catalog = replica_feeds(clean, feed)
    spec = parse_catalog(catalog)[feed]
    listed = records(spec.list_api, spec.list_records)
    keys = spec.list_fields
    by_code = {str(r[keys["infoCode"]]): r for r in listed}
    # The content API answers the body alone, under the feed's api_fields key.
    first = next(iter(by_code))
    assert set(get_json(spec.api.format(infoCode=first))) == {body_key}  # type: ignore[arg-type]
    clean.reset()

    mirror = mirror_factory(catalog)
    result = mirror.scrapy("crawl", feed)
    assert result.returncode == 0, result.output
    posts = mirror.posts()
    reachable = len(listed) if max_pages >= 4 else 10 * max_pages
    assert len(posts) == reachable == len(listed[:reachable])
    for name, path in posts.items():
        code = FILENAME.fullmatch(name)["infoCode"]
        record = by_code[code]
        post = mirror.read(path)
        assert post.title == record["title"], name  # from the record only
        assert post.outlet == record[keys["outlet"]]
        assert post.date == parse_date(record[keys["date"]], spec.timezone)
        assert post.body.startswith("<") and post.body.endswith(">")
        expected_share = record["url"] if "url" in keys else SHARE_URL.format(infoCode=code)
        assert post.share_url == expected_share
    stats = clean.stats()
    assert sorted(content_ids(stats)) == sorted(FILENAME.fullmatch(n)["infoCode"] for n in posts)


def test_paging_stops_at_an_empty_page_and_at_a_page_with_nothing_new(clean, mirror_factory):
    mirror = mirror_factory(replica_feeds(clean, "yunnanwang", yunnanwang={"max_pages": 10}))
    # Page by page (no listing page fetched ahead on this backfill), to count the walk.
    result = mirror.scrapy("crawl", "yunnanwang", "-s", "MIRROR_LISTING_PREFETCH=0")
    assert result.returncode == 0, result.output
    stats = clean.stats()
    lists = sorted(p for p in stats["by_path"] if p.startswith("/api/list/"))
    # 40 articles, 10 a page: pages 1-4, then page 5 answers no record: stop there.
    assert lists == [f"/api/list/yunnanwang?page={n}" for n in range(1, 6)]
    assert stats["by_kind"]["content"] == 40
    assert len(mirror.posts()) == 40

    clean.reset()
    result = mirror.scrapy("crawl", "yunnanwang")
    assert result.returncode == 0, result.output
    stats = clean.stats()
    assert stats["by_kind"]["list_api"] == 1  # page 1 had nothing new: stop
    assert stats["by_kind"]["content"] == 0  # known infoCodes: no body asked for

    new = clean.publish("yunnanwang", 3)
    clean.reset()
    result = mirror.scrapy("crawl", "yunnanwang")
    assert result.returncode == 0, result.output
    stats = clean.stats()
    assert sorted(p for p in stats["by_path"] if p.startswith("/api/list/")) == [
        "/api/list/yunnanwang?page=1", "/api/list/yunnanwang?page=2",
    ]  # fmt: skip
    assert sorted(content_ids(stats)) == sorted(new)
    assert summary_line(result.output, "yunnanwang").startswith("yunnanwang: 3 new, ")
    assert len(mirror.posts()) == 43


def test_hostile_and_missing_infocodes_in_records_are_dropped_and_named(
    replica, mirror_factory, tmp_path
):
    mirror = mirror_factory(replica_feeds(replica, "yunnanwang"))
    result = mirror.scrapy("crawlall")
    assert result.returncode == 0, result.output
    list_url = re.escape(f"{replica.url}/api/list/yunnanwang?page=1")
    log = result.stderr
    assert re.search(
        r"WARNING: Dropped an entry of feed yunnanwang: missing_infocode "
        rf"\(record 1 titled '[^']+' has no 'infoCode'\) on listing <{list_url}>",
        log,
    ), log
    assert re.search(
        r"WARNING: Dropped an entry of feed yunnanwang: bad_infocode "
        rf"\(record 3 infoCode '\.\./\.\./etc/passwd'\) on listing <{list_url}>",
        log,
    ), log
    line = summary_line(result.output, "yunnanwang")
    assert "40 new" in line and "bad_infocode 1" in line and "missing_infocode 1" in line
    # The other records of that page are mirrored; nothing lands outside the mirror.
    assert len(mirror.posts()) == 40
    assert {p.name for p in tmp_path.iterdir()} == {"output", "feeds.yaml"}
    assert not [p for p in mirror.dir.rglob("*") if "passwd" in p.name]


# --- Outlet filters -----------------------------------------------------------


def test_an_outlet_cut_from_an_aggregate_fetches_no_other_outlet(clean, mirror_factory):
    catalog = replica_feeds(clean, "qujingribao", "yunnanxinwen")
    mirror = mirror_factory(catalog)
    spec = parse_catalog(catalog)["qujingribao"]
    listed = records(spec.list_api, spec.list_records)  # 4 pages: all within max_pages 5
    qujing = [r["infoCode"] for r in listed if r["medianame"] == "曲靖日报"]
    assert 0 < len(qujing) < len(listed)
    clean.reset()

    result = mirror.scrapy("crawl", "qujingribao")
    assert result.returncode == 0, result.output
    stats = clean.stats()
    assert sorted(content_ids(stats)) == sorted(qujing)  # no other outlet's body fetched
    posts = [mirror.read(p) for p in mirror.posts().values()]
    assert sorted(p.info_code for p in posts) == sorted(qujing)
    assert {(p.category, p.outlet) for p in posts} == {("qujingribao", "曲靖日报")}
    line = summary_line(result.output, "qujingribao")
    assert line.startswith(f"qujingribao: {len(qujing)} new, ")
    assert f" {len(listed) - len(qujing)} filtered" in line
    assert " 0 dropped" in line and " 0 errors" in line

    # Filtered out is not remembered: the aggregate feed takes the others.
    result = mirror.scrapy("crawl", "yunnanxinwen")
    assert result.returncode == 0, result.output
    first_30 = [r["infoCode"] for r in listed[:30]]  # max_pages 3
    others = [c for c in first_30 if c not in qujing]
    assert summary_line(result.output, "yunnanxinwen").startswith(
        f"yunnanxinwen: {len(others)} new, "
    )
    assert len(mirror.posts()) == len(qujing) + len(others)


def test_kunmingribao_reachable_only_through_an_aggregate_list(clean, mirror_factory):
    feeds = {"kunmingribao": aggregate_feed(clean.url, "kunmingribao", ["昆明日报"])}
    mirror = mirror_factory({"feeds": feeds})
    listed = records(feeds["kunmingribao"]["list_api"], "record")
    assert {r["medianame"] for r in listed} == {"昆明日报", "都市时报", "昆明信息港"}
    mine = {r["infoCode"]: r for r in listed if r["medianame"] == "昆明日报"}
    clean.reset()

    result = mirror.scrapy("crawl", "kunmingribao")
    assert result.returncode == 0, result.output
    assert sorted(content_ids(clean.stats())) == sorted(mine)
    posts = {p.info_code: p for p in map(mirror.read, mirror.posts().values())}
    assert set(posts) == set(mine)
    for code, post in posts.items():
        assert (post.title, post.outlet, post.category) == (
            mine[code]["title"], "昆明日报", "kunmingribao",
        )  # fmt: skip
    assert (mirror.dir / "category" / "kunmingribao.html").exists()


def test_outlet_filter_on_an_html_listing_leaves_others_for_their_feed(clean, mirror_factory):
    catalog = replica_feeds(clean, "kunmingribao")
    catalog["feeds"]["ccwbonly"] = {
        **catalog["feeds"]["kunmingribao"], "outlet": "春城晚报", "category": "chunchengwanbao",
        "outlets": ["春城晚报"],
    }  # fmt: skip
    mirror = mirror_factory(catalog)
    # The listing names no outlet: each article is fetched, then left out.
    result = mirror.scrapy("crawl", "ccwbonly")
    assert result.returncode == 0, result.output
    line = summary_line(result.output, "ccwbonly")
    assert line.startswith("ccwbonly: 0 new, ") and " 40 filtered" in line, line
    assert " 0 dropped" in line and " 0 errors" in line and "FAILED" not in line, line
    assert mirror.posts() == {}
    fetched = content_ids(clean.stats())
    assert len(fetched) == len(set(fetched)) == 40  # each once, though listed on two pages
    store = FileDedupStore(mirror.dir)
    assert not any(store.held_back(code) for code in fetched)  # not remembered as dropped
    store.close()

    result = mirror.scrapy("crawl", "kunmingribao")
    assert result.returncode == 0, result.output
    assert summary_line(result.output, "kunmingribao").startswith("kunmingribao: 40 new, ")
    assert len(mirror.posts()) == 40


# --- Selector drift --------------------------------------------------------------


def test_selector_drift_is_a_warning_and_a_failing_feed(clean, mirror_factory):
    base = clean.url
    catalog = replica_feeds(
        clean, "dalidaily", "kunmingribao", "yunnanwang",
        yunnanwang={"list_fields": {"title": "headline"}},
    )  # fmt: skip
    feeds = catalog["feeds"]
    # Feeds crawled at once share one dedup store: no good feed on the same articles.
    kunmingribao = feeds.pop("kunmingribao")
    feeds["kmtitle"] = {**kunmingribao, "article": {"title": "h1.headline::text"}}
    feeds["kmlinks"] = {
        **kunmingribao, "share_link": r"NewsDetail\.html\?id=(?P<infoCode>\w+)",
    }  # fmt: skip
    feeds["ynpath"] = {
        "outlet": "云南网", "list_api": f"{base}/api/list/yunnanwang?page={{page}}",
        "list_records": "data.items", "share_url": SHARE_URL,
    }  # fmt: skip
    feeds["ynkey"] = {
        **feeds["ynpath"],
        "list_records": "records",
        "list_fields": {"infoCode": "id"},
    }
    mirror = mirror_factory(catalog)
    result = mirror.scrapy("crawlall")
    assert result.returncode == 1, result.output  # crawlall alerts
    log, out = result.stderr, result.stdout

    assert re.search(
        r"WARNING: Feed kmtitle: no article mirrored, 40 of 40 dropped as missing_title: "
        r"article\.title 'h1\.headline::text' matched nothing",
        log,
    ), log
    assert summary_line(out, "kmtitle").endswith(
        "FAILED: every article dropped as missing_title: "
        "article.title 'h1.headline::text' matched nothing"
    )
    # A list API feed: neither the content API nor the record has the title.
    assert re.search(
        r"WARNING: Feed yunnanwang: no article mirrored, 40 of 40 dropped as missing_title: "
        r"api_fields\.title 'title' and list_fields\.title 'headline' matched nothing",
        log,
    ), log
    assert "FAILED: every article dropped as missing_title" in summary_line(out, "yunnanwang")

    assert re.search(
        r"WARNING: Feed kmlinks: no article found on listing <\S+/category/kunmingribao\.html>: "
        r"share_link 'NewsDetail\\\.html\\\?id=\(\?P<infoCode>\\w\+\)' matched no link",
        log,
    ), log
    assert "FAILED: no article found on the listing (share_link" in summary_line(out, "kmlinks")
    assert re.search(r"ERROR: Listing page of feed ynpath cannot be read: has no 'data.items'", log)
    assert "FAILED: no article found on the listing (has no 'data.items' array)" in (
        summary_line(out, "ynpath")
    )
    assert re.search(
        r"WARNING: Feed ynkey: no article found on listing <\S+>: "
        r"list_fields.infoCode 'id' gave no good infoCode in 10 records",
        log,
    ), log
    assert "FAILED" in summary_line(out, "ynkey")

    assert "FAILED" not in summary_line(out, "dalidaily")
    assert summary_line(out, "dalidaily").startswith("dalidaily: 40 new, ")
    total = next(x for x in out.splitlines() if re.match(r"\d+ feeds, ", x))
    assert total.startswith("6 feeds, 40 new posts; FAILED: ")
    assert set(total.split("FAILED: ")[1].split(", ")) == {
        "yunnanwang", "kmtitle", "kmlinks", "ynpath", "ynkey",
    }  # fmt: skip

    # status names the selector too: the error is not cut short.
    status = mirror.scrapy("status").stdout
    kmtitle = next(x for x in status.splitlines() if x.startswith("kmtitle "))
    assert (
        "every article dropped as missing_title: article.title 'h1.headline::text' matched nothing"
    ) in kmtitle


def test_one_bad_article_is_not_drift(replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao"))
    result = mirror.scrapy("crawl", "kunmingribao", "-s", "MIRROR_RETRY_DROPPED_HOURS=0")
    assert result.returncode == 0
    # Second run: only the bad articles are fetched again, each dropped for its own reason.
    result = mirror.scrapy("crawlall", "-s", "MIRROR_RETRY_DROPPED_HOURS=0")
    line = summary_line(result.output, "kunmingribao")
    assert line.startswith("kunmingribao: 0 new, ") and "missing_title 1" in line, line
    assert "FAILED" not in line
    assert "no article mirrored" not in result.stderr
    assert result.returncode == 0


def test_a_record_keyed_by_another_field_and_a_list_without_pages():
    """A rolling-news record names its post by `id` (list_fields.key) and its
    body by `infoCode`; a list_api without {page} has no page 2 (SPEC §2.4)."""
    from scrapy.http import TextResponse

    from crawler.source.listings import JsonListing

    feed = parse_catalog({"feeds": {"rolling": {
        "outlet": "东财滚动", "category": "emnews", "post": "rolling",
        "list_api": "http://h/web/webapi?type=102&count=100&newsid=1",
        "list_fields": {"key": "id", "digest": "digest", "url": "url_w"},
    }}})["rolling"]  # fmt: skip
    body = json.dumps({"records": [
        {"infoCode": "NW2022", "id": "2022", "title": "t", "showtime": "2022-05-30 22:00:29",
         "digest": "【t】d", "url_w": "http://e/news/1,2022.html"},
        {"infoCode": "NW2023", "title": "no id"},
        {"id": "2024", "title": "no infoCode"},
        {"infoCode": "NW2025", "id": "../x", "title": "bad id"},
    ]})  # fmt: skip
    response = TextResponse(feed.list_api, body=body.encode(), encoding="utf-8")
    page = JsonListing(feed).parse(response, 1)
    assert [(e.info_code, e.api_code, e.url) for e in page.entries] == [
        ("2022", "NW2022", "http://e/news/1,2022.html")
    ]
    assert page.entries[0].fields == {
        "title": "t",
        "date": "2022-05-30 22:00:29",
        "digest": "【t】d",
    }
    assert [(r.reason, r.what) for r in page.rejected] == [
        ("missing_infocode", "record 1 titled 'no id' has no 'id'"),
        ("missing_infocode", "record 2 titled 'no infoCode' has no 'infoCode'"),
        ("bad_infocode", "record 3 id '../x'"),
    ]
    assert page.next_url is None and not feed.paged
