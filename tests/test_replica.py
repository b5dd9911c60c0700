"""The replica of the news source (replica): what it serves over HTTP."""

from __future__ import annotations

import http.client
import itertools
import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import yaml

from crawler.source.catalog import (
    DEFAULT_SHARE_LINK,
    default_catalog_path,
    load_catalog,
    parse_catalog,
)
from replica import Replica, replica_catalog, write_replica_catalog
from replica.content import (
    BOARDS,
    GB18030_ONLY_SENTENCE,
    PLACES,
    PREDICATES,
    SEED_BODY_PATH,
    SEED_INFO_CODE,
    SENTENCES,
    STOCK_SENTENCES,
    STOCKS,
    SUBJECTS,
    TABLE_ROWS,
    TZ,
)

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "http://finews.zning.xyz"
SHARE_LINK = re.compile(DEFAULT_SHARE_LINK)
HREF = re.compile(r'<a\b[^>]*?href="([^"]*)"[^>]*>')
NOW = datetime(2024, 5, 6, 12, 0, tzinfo=TZ)


class Got:
    def __init__(self, status: int, headers: Any, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def text(self, codec: str = "utf-8") -> str:
        return self.body.decode(codec)

    def json(self) -> Any:
        assert self.content_type == "application/json; charset=utf-8"
        return json.loads(self.body.decode("utf-8"))


def get(url: str, method: str = "GET") -> Got:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return Got(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as e:
        with e:
            return Got(e.code, e.headers, e.read())


def share_codes(page_url: str, html: str) -> list[str]:
    """The infoCodes of the share links on a page, in order, as a crawler sees them."""
    codes = []
    for href in HREF.findall(html):
        m = SHARE_LINK.search(urljoin(page_url, href.replace("&amp;", "&")))
        if m:
            codes.append(m.group("infoCode"))
    return codes


def next_link(html: str) -> str | None:
    m = re.search(r'<a rel="next" href="([^"]+)"', html)
    return m.group(1) if m else None


@pytest.fixture
def replica() -> Any:
    with Replica(articles=25, per_page=10, faults=False, now=NOW) as r:
        yield r
    assert r.errors == []


@pytest.fixture
def faulty() -> Any:
    with Replica(now=NOW) as r:
        yield r
    assert r.errors == []


# --- Listing pages ---------------------------------------------------------


def test_listing_pages_list_newest_first_and_link_the_next(replica: Replica) -> None:
    base = replica.url
    all_codes = replica.info_codes("kunmingribao")
    assert len(all_codes) == 25 and all_codes[-1] == SEED_INFO_CODE
    url = f"{base}/category/kunmingribao.html"
    seen: list[str] = []
    pages = 0
    while url:
        got = get(url)
        assert got.status == 200
        assert got.content_type == "text/html; charset=utf-8"
        html = got.text()
        codes = share_codes(url, html)
        pages += 1
        start = (pages - 1) * 10
        expected = all_codes[max(start - 1, 0) : start + 10]
        assert list(dict.fromkeys(codes)) == expected  # repeats kept in order
        if pages > 1:  # the last article of the page before, again
            assert codes[0] == seen[-1]
        seen.extend(c for c in codes if c not in seen)
        nxt = next_link(html)
        url = urljoin(url, nxt) if nxt else ""
    assert pages == 3
    assert seen == all_codes
    assert get(f"{base}/category/kunmingribao_4.html").status == 404
    assert get(f"{base}/category/nosuchfeed.html").status == 404


def test_listing_links_come_in_every_form(replica: Replica) -> None:
    url = f"{replica.url}/category/yunnanribao.html"
    html = get(url).text()
    hrefs = [h.replace("&amp;", "&") for h in HREF.findall(html)]
    shares = [h for h in hrefs if "NewsShare.html" in h]
    assert any(h.startswith("../html_News/NewsShare.html?infoCode=") for h in shares)
    assert any(h.startswith(replica.url + "/html_News/") for h in shares)
    assert any("?from=list&infoCode=" in h and h.endswith("&x=1") for h in shares)
    codes = share_codes(url, html)
    assert len(codes) > len(set(codes))  # title link + "more" link
    others = [h for h in hrefs if "NewsShare.html" not in h]
    assert "/" in others and "/category/kunmingribao.html" in others
    assert "/private/admin.html" in others


def test_every_feed_and_share_url_of_the_catalog_resolves(replica: Replica) -> None:
    feeds = parse_catalog(replica_catalog(replica.url))
    for name, feed in feeds.items():
        if feed.start_urls:
            html = get(feed.start_urls[0]).text("gb18030" if name == "chunchengwanbao" else "utf-8")
            codes = share_codes(feed.start_urls[0], html)
        else:
            data = get(feed.list_api.format(page=1)).json()
            for part in feed.list_records.split("."):
                data = data[part]
            codes = [r[feed.list_fields["infoCode"]] for r in data]
        assert codes, name
        code = codes[0]
        if feed.api:
            assert get(feed.api.format(infoCode=code)).status == 200
        share = feed.share_url.replace(SOURCE, replica.url).format(infoCode=code)
        if feed.share_url:
            assert feed.share_url.startswith(SOURCE)
            assert get(share).status == 200


# --- Share pages -----------------------------------------------------------


def test_share_page_holds_one_article(replica: Replica) -> None:
    code = replica.info_codes("kunmingribao")[3]
    art = replica.article(code)
    assert art is not None
    got = get(f"{replica.url}/html_News/NewsShare.html?from=x&infoCode={code}")
    assert got.status == 200 and got.content_type == "text/html; charset=utf-8"
    html = got.text()
    assert f"<h1>{art['title']}</h1>" in html
    assert f'<div class="time">{art["date_text"]}</div>' in html
    assert '<div class="source">来源：<a href="#">昆明日报</a></div>' in html
    assert f'<div id="ContentBody">{art["body"]}</div>' in html
    assert "<script" in html and 'class="nav"' in html and 'class="footer"' in html
    assert art["body"].endswith('<p class="em_media">（文章来源：昆明日报）</p>')
    assert get(f"{replica.url}/html_News/NewsShare.html?infoCode=NOPE").status == 404


def test_dates_cycle_through_the_formats_and_go_back_from_now(replica: Replica) -> None:
    arts = [replica.article(c) for c in replica.info_codes("yunnanribao")]
    texts = [a["date_text"] for a in arts if a]
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", t) for t in texts)
    assert any(re.fullmatch(r"\d{4}/\d{1,2}/\d{1,2} \d\d:\d\d", t) for t in texts)
    assert any(re.fullmatch(r"\d{4}年\d\d月\d\d日 \d\d:\d\d", t) for t in texts)
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", t) for t in texts)
    dates = [a["date"] for a in arts if a]
    assert dates[0] < NOW
    gaps = [(a - b).total_seconds() / 60 for a, b in itertools.pairwise(dates)]
    assert all(6 < g < 24 for g in gaps)


def test_bodies_carry_the_sources_widget_junk() -> None:
    r = Replica(articles=60, now=NOW, faults=False)
    bodies = "".join(r.source.body(r.source.base_article("yunnanribao", s)) for s in range(60))
    for junk in (
        '<span id="stock_', 'class="keytip"', '<span id="quote_', "em_stock_key_common",
        "<!-- EM_StockImg_Start -->", "<!-- EM_StockImg_End -->", 'style="', "data-",
        "\u3000\u3000", "display:none", "<table", '<img src="/images/',
    ):  # fmt: skip
        assert junk in bodies, junk


def test_the_text_is_all_gb2312() -> None:
    pools = [PLACES, SUBJECTS, PREDICATES, SENTENCES, STOCK_SENTENCES]
    pools += [[n for _, n in STOCKS], [n for _, n in BOARDS], [a + b for a, b in TABLE_ROWS]]
    for pool in pools:
        for text in pool:
            text.encode("gb2312")
    with pytest.raises(UnicodeEncodeError):
        GB18030_ONLY_SENTENCE.encode("gbk")


# --- Encodings -------------------------------------------------------------


def test_every_gbk_page_encodes_in_its_codec() -> None:
    r = Replica(articles=200, per_page=10, now=NOW)
    r.publish("chunchengwanbao", 8)
    for code in r.info_codes("chunchengwanbao"):
        got = r.site.respond("/html_News/NewsShare.html", {"infoCode": [code]}, "http://h")
        assert got.status == 200, code  # encoded strictly: no character left out
    for page in range(1, r.source.pages("chunchengwanbao") + 1):
        path = f"/category/chunchengwanbao_{page}.html"
        assert r.site.respond(path, {}, "http://h").status == 200
    assert r.errors == []


def test_gbk_pages_in_every_declaration_style(replica: Replica) -> None:
    by_style: dict[str, dict[str, Any]] = {}
    for code in replica.info_codes("chunchengwanbao")[:4]:
        art = replica.article(code)
        assert art is not None
        by_style[art["declared"]] = art
    assert set(by_style) == {"header", "meta", "http-equiv", "none"}

    def fetch(style: str) -> tuple[Got, dict[str, Any]]:
        art = by_style[style]
        return get(replica.url + art["path"]), art

    got, art = fetch("header")
    assert got.content_type == "text/html; charset=gbk"
    assert b"charset" not in got.body
    assert f"<h1>{art['title']}</h1>" in got.text("gbk")

    got, art = fetch("meta")
    assert got.content_type == "text/html"
    assert b'<meta charset="gbk">' in got.body
    assert f"<h1>{art['title']}</h1>" in got.text("gbk")

    got, art = fetch("http-equiv")
    assert got.content_type == "text/html"
    assert b'<meta http-equiv="Content-Type" content="text/html; charset=gb2312">' in got.body
    assert f"<h1>{art['title']}</h1>" in got.text("gb2312")

    got, art = fetch("none")
    assert got.content_type == "text/html"
    assert b"charset" not in got.body.lower()
    with pytest.raises(UnicodeDecodeError):
        got.text("utf-8")  # not valid as what an undeclared page defaults to
    with pytest.raises(UnicodeDecodeError):
        got.text("gbk")  # GB18030 proper
    html = got.text("gb18030")
    assert f"<h1>{art['title']}</h1>" in html and GB18030_ONLY_SENTENCE in html
    assert art["title"] not in got.body.decode("cp1252", "replace")
    assert art["title"] not in got.body.decode("latin-1")


def test_gbk_listing_pages_vary_their_declaration(replica: Replica) -> None:
    replica.publish("chunchengwanbao", 15)  # 40 articles: 4 pages
    first = replica.info_codes("chunchengwanbao")[0]
    kinds = []
    for page in range(1, 5):
        suffix = "" if page == 1 else f"_{page}"
        got = get(f"{replica.url}/category/chunchengwanbao{suffix}.html")
        assert got.status == 200
        with pytest.raises(UnicodeDecodeError):
            got.text("utf-8")
        html = got.text("gb18030")
        assert "春城晚报" in html and share_codes(replica.url + "/category/", html)
        if page == 1:
            assert first in html
        kinds.append(
            (got.content_type, b"charset=gb2312" in got.body, b"<meta charset" in got.body)
        )
    assert kinds == [
        ("text/html; charset=gbk", False, False),
        ("text/html", False, True),
        ("text/html", True, False),
        ("text/html", False, False),
    ]


# --- The seed --------------------------------------------------------------


def test_the_seed_article_is_served_verbatim() -> None:
    with Replica() as r:  # the defaults, as the README's demo runs it
        page = r.seed_page()
        assert page == 4
        url = f"{r.url}/category/kunmingribao.html"
        for _ in range(page - 1):
            nxt = next_link(get(url).text())
            assert nxt
            url = urljoin(url, nxt)
        assert SEED_INFO_CODE in share_codes(url, get(url).text())
        got = get(f"{r.url}/html_News/NewsShare.html?infoCode={SEED_INFO_CODE}")
    assert got.status == 200 and got.content_type == "text/html; charset=utf-8"
    html = got.text()
    assert "<h1>昆明出台产业招商提质增效实施意见</h1>" in html
    assert '<div class="time">2022-02-20 14:29:54</div>' in html
    assert '<div class="source">来源：<a href="#">昆明日报</a></div>' in html
    raw = SEED_BODY_PATH.read_bytes()
    assert b'<div id="ContentBody">' + raw + b"</div>" in got.body


def test_the_seed_stays_within_reach_of_a_default_crawl() -> None:
    with Replica(articles=100, faults=False, now=NOW) as r:
        assert r.seed_page() == 10
        url = f"{r.url}/category/kunmingribao.html"
        assert SEED_INFO_CODE in share_codes(url, get(url).text())  # "推荐"
    with Replica(articles=40, faults=False, now=NOW) as r:
        url = f"{r.url}/category/kunmingribao.html"
        assert SEED_INFO_CODE not in share_codes(url, get(url).text())


# --- JSON ------------------------------------------------------------------


def test_content_apis(replica: Replica) -> None:
    code = replica.info_codes("yunnanribao")[0]
    art = replica.article(code)
    assert art is not None
    data = get(f"{replica.url}/NewsData/GetNewsText.do?id={code}").json()
    assert data == {
        "title": art["title"], "showtime": art["date_text"],
        "medianame": "云南日报", "text": art["body"],
    }  # fmt: skip
    code = replica.info_codes("yunnanwang")[0]
    body = replica.article(code)["body"]  # type: ignore[index]
    assert get(f"{replica.url}/api/content?id={code}").json() == {"text": body}
    assert get(f"{replica.url}/api/content?id={code}&key=content").json() == {"content": body}
    assert get(f"{replica.url}/api/content?id=NWYNWG99999999").status == 404


def test_list_apis_and_the_empty_page_past_the_end(replica: Replica) -> None:
    base = replica.url
    page = get(f"{base}/api/list/yunnanwang?page=1").json()["records"]
    assert [r["infoCode"] for r in page] == replica.info_codes("yunnanwang")[:10]
    assert set(page[0]) == {"infoCode", "title", "showtime", "medianame"}
    assert {r["medianame"] for r in page} == {"云南网"}
    assert get(f"{base}/api/list/yunnanwang?page=4").json()["records"] == []

    nodes = get(f"{base}/api/list/dalidaily?page=3").json()["nodeList"]
    assert len(nodes) == 5
    assert set(nodes[0]) == {"infocode", "title", "datetime", "from", "url"}
    assert nodes[0]["from"] == "大理日报"
    assert nodes[0]["url"] == (f"{base}/html_News/NewsShare.html?infoCode={nodes[0]['infocode']}")
    assert "<h1>" in get(nodes[0]["url"]).text()
    assert get(f"{base}/api/list/dalidaily?page=9").json()["nodeList"] == []

    agg = get(f"{base}/api/list/yunnan?page=1").json()["data"]["list"]
    assert set(agg[0]) == {"infoCode", "title", "showtime", "medianame"}
    assert {r["medianame"] for r in agg} == {
        "曲靖日报",
        "玉溪日报",
        "红河日报",
        "昭通日报",
        "保山日报",
    }
    assert get(f"{base}/api/list/yunnan?page=5").json()["data"]["list"] == []
    assert get(f"{base}/api/list/yunnan?page=x").status == 400


# --- Faults ----------------------------------------------------------------


def test_faults_are_on_the_first_pages(faulty: Replica) -> None:
    base = faulty.url
    km = faulty.faults["kunmingribao"]
    assert len(km["long_info_code"]) == 70
    html = get(f"{base}/category/kunmingribao.html").text()
    for code in km.values():
        assert f"infoCode={code}" in html
    good = faulty.info_codes("kunmingribao")[:10]
    assert [c for c in share_codes(base, html) if c in good] != []
    assert len(set(good) & set(share_codes(base + "/category/", html))) == 10

    def share(code: str) -> Got:
        return get(f"{base}/html_News/NewsShare.html?infoCode={code}")

    assert share(km["http_404"]).status == 404
    assert share(km["http_500"]).status == 500
    assert "<h1>" not in share(km["no_title"]).text()
    assert '<div class="time">not a date</div>' in share(km["bad_date"]).text()
    assert '<div id="ContentBody"></div>' in share(km["empty_body"]).text()

    yr = faulty.faults["yunnanribao"]
    html = get(f"{base}/category/yunnanribao.html").text()
    assert all(f"infoCode={c}" in html for c in yr.values())
    got = get(f"{base}/NewsData/GetNewsText.do?id={yr['not_json']}")
    with pytest.raises(ValueError):
        json.loads(got.body)
    data = get(f"{base}/NewsData/GetNewsText.do?id={yr['no_title']}").json()
    assert "title" not in data and data["text"]

    records = get(f"{base}/api/list/yunnanwang?page=1").json()["records"]
    assert len(records) == 12
    assert sum("infoCode" not in r for r in records) == 1
    assert "../../etc/passwd" in [r.get("infoCode") for r in records]
    assert faulty.faults["yunnanwang"]["bad_info_code"] == "../../etc/passwd"


def test_no_faults_when_turned_off(replica: Replica) -> None:
    assert replica.faults == {}
    html = get(f"{replica.url}/category/kunmingribao.html").text()
    assert "fault" not in html
    assert len(get(f"{replica.url}/api/list/yunnanwang?page=1").json()["records"]) == 10


# --- Publishing ------------------------------------------------------------


def test_publish_puts_new_articles_at_the_top(replica: Replica) -> None:
    before = replica.info_codes("kunmingribao")
    new = replica.publish("kunmingribao", 3)
    assert len(new) == 3 and not set(new) & set(before)
    url = f"{replica.url}/category/kunmingribao.html"
    codes = list(dict.fromkeys(share_codes(url, get(url).text())))
    assert codes[:3] == new and codes[3:10] == before[:7]
    dates = [replica.article(c)["date"] for c in new + before[:1]]  # type: ignore[index]
    assert dates == sorted(dates, reverse=True)
    assert get(f"{replica.url}/html_News/NewsShare.html?infoCode={new[0]}").status == 200

    got = get(f"{replica.url}/_replica/publish?feed=yunnanwang&n=2", method="POST")
    codes = got.json()
    assert len(codes) == 2
    records = get(f"{replica.url}/api/list/yunnanwang?page=1").json()["records"]
    assert [r["infoCode"] for r in records[:2]] == codes

    qj = replica.publish("qujingribao", 2)
    agg = get(f"{replica.url}/api/list/yunnan?page=1").json()["data"]["list"]
    assert [(r["infoCode"], r["medianame"]) for r in agg[:2]] == [
        (qj[0], "曲靖日报"), (qj[1], "曲靖日报"),
    ]  # fmt: skip
    assert get(f"{replica.url}/_replica/publish?feed=nope&n=1").status == 404
    with pytest.raises(KeyError):
        replica.publish("nope", 1)


# --- Measures --------------------------------------------------------------


def test_stats_count_requests_by_path_and_kind(replica: Replica) -> None:
    base = replica.url
    for path in (
        "/robots.txt", "/category/kunmingribao.html", "/category/kunmingribao.html",
        "/html_News/NewsShare.html?infoCode=NWKMRB00000001",
        "/NewsData/GetNewsText.do?id=NWYNRB00000001", "/api/list/dalidaily?page=1",
        "/api/content?id=NWDLRB00000001&key=content", "/nothing",
        "/web/webapi?type=102&count=5&newsid=1", "/images/NWX-0.png",
    ):  # fmt: skip
        get(base + path)
    stats = get(f"{base}/_replica/stats").json()
    assert stats == replica.stats()
    assert stats["requests"] == 10
    assert stats["by_path"]["/category/kunmingribao.html"] == 2
    assert stats["by_path"]["/html_News/NewsShare.html?infoCode=NWKMRB00000001"] == 1
    assert stats["by_kind"] == {
        "listing": 2, "share": 1, "api": 1, "list_api": 2, "content": 1,
        "robots": 1, "image": 1, "other": 1,
    }  # fmt: skip
    assert stats["max_in_flight"] == 1 and stats["in_flight"] == 0
    assert get(f"{base}/_replica/reset").json() == {"ok": True}
    assert replica.stats()["requests"] == 0 and replica.stats()["by_path"] == {}


def test_latency_and_max_in_flight() -> None:
    with Replica(articles=5, latency_ms=200, faults=False, now=NOW) as r:
        started = time.monotonic()
        threads = [threading.Thread(target=get, args=(f"{r.url}/robots.txt",)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        stats = r.stats()
        assert stats["max_in_flight"] >= 2 and stats["in_flight"] == 0
        assert stats["requests"] == 2
        assert elapsed >= 0.2  # each answered after 200ms
        r.reset_stats()
        get(f"{r.url}/robots.txt")
        assert r.stats()["max_in_flight"] == 1


def test_keep_alive_and_stop_with_an_idle_connection() -> None:
    r = Replica(articles=5, faults=False, now=NOW)
    r.start()
    conn = http.client.HTTPConnection("127.0.0.1", int(r.url.rsplit(":", 1)[1]), timeout=5)
    try:
        for _ in range(2):  # one connection, two requests
            conn.request("GET", "/robots.txt")
            resp = conn.getresponse()
            assert resp.status == 200 and resp.read().startswith(b"User-agent: *")
        conn.request("HEAD", "/category/kunmingribao.html")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read() == b""
        stopping = threading.Thread(target=r.stop)  # the connection is still open
        stopping.start()
        stopping.join(30)
        assert not stopping.is_alive(), "stop() waits for the idle connection"
    finally:
        conn.close()
        r.stop()


def test_large_feeds_are_cheap() -> None:
    # CPU time, not a stopwatch: a loaded machine makes a run longer, not costlier.
    started = time.process_time()
    with Replica(articles=5000, per_page=20, now=NOW) as r:
        last = get(f"{r.url}/category/kunmingribao_250.html")
        assert last.status == 200 and SEED_INFO_CODE in last.text()
        assert next_link(last.text()) is None
        assert SEED_INFO_CODE in get(f"{r.url}/category/kunmingribao.html").text()
        assert len(get(f"{r.url}/api/list/yunnan?page=250").json()["data"]["list"]) == 20
        assert get(f"{r.url}/api/content?id=NWYNXW00000000").status == 200
        r.publish("yunnan", 5)
    assert time.process_time() - started < 5


def test_same_arguments_same_site() -> None:
    a = Replica(articles=30, now=NOW)
    b = Replica(articles=30, now=NOW)
    for path, query in (
        ("/category/chunchengwanbao_2.html", {}),
        ("/category/kunmingribao.html", {}),
        ("/html_News/NewsShare.html", {"infoCode": ["NWCCWB00000007"]}),
        ("/api/list/yunnan", {"page": ["2"]}),
    ):
        ra = a.site.respond(path, query, "http://h")
        rb = b.site.respond(path, query, "http://h")
        assert ra.status == 200 and ra.body == rb.body


# --- The catalog and the command -------------------------------------------


def test_replica_catalog_rewrites_what_is_fetched(tmp_path: Path) -> None:
    shipped = yaml.safe_load((ROOT / "replica" / "catalog.yaml").read_text("utf-8"))
    data = replica_catalog("http://127.0.0.1:8765/")
    assert set(data["feeds"]) == set(shipped["feeds"])
    text = json.dumps(data, ensure_ascii=False)
    for key in ("start_urls", "api", "list_api"):
        for spec in data["feeds"].values():
            urls = spec.get(key, [])
            for url in [urls] if isinstance(urls, str) else urls:
                assert url.startswith("http://127.0.0.1:8765/"), (key, url)
    for name, spec in data["feeds"].items():
        assert spec.get("share_url") == shipped["feeds"][name].get("share_url")
    assert "finews.zning.xyz" in text  # share_url only
    assert all(
        "zning" not in json.dumps({k: v for k, v in s.items() if k != "share_url"})
        for s in data["feeds"].values()
    )
    feeds = parse_catalog(data)
    assert feeds["kunmingribao"].start_urls == ("http://127.0.0.1:8765/category/kunmingribao.html",)
    assert shipped == yaml.safe_load((ROOT / "replica" / "catalog.yaml").read_text("utf-8"))

    out = tmp_path / "replica.yaml"
    write_replica_catalog("http://127.0.0.1:8765", out)
    assert load_catalog(out) == feeds


def test_the_shipped_catalog_on_the_replica_keeps_real_paths_and_queries() -> None:
    """Every real host (183.136.162.242, 43.240.125.15:1818, choicewzp1…) is the
    one replica: only the origin moves; share links stay the public ones."""
    data = replica_catalog("http://127.0.0.1:8765", default_catalog_path())
    feeds = parse_catalog(data)
    assert feeds["emnews"].list_api == (
        "http://127.0.0.1:8765/web/webapi?type=102&count=100&newsid=1"
    )
    assert feeds["market38"].list_api == (
        "http://127.0.0.1:8765/information/newmarket/web/webapi?marketType=38&count=100"
    )
    assert feeds["kunmingribao"].api == (
        "http://127.0.0.1:8765/NewsData/GetNewsText.do?id={infoCode}"
    )
    assert feeds["regional"].share_url.startswith("http://finews.zning.xyz/")


def test_command_serves_until_sigterm(tmp_path: Path) -> None:
    catalog = tmp_path / "feeds.yaml"
    with subprocess.Popen(
        [sys.executable, "-m", "replica", "--port", "0", "--articles", "5",
         "--no-faults", "--latency-ms", "1", "--catalog-out", str(catalog)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as proc:  # fmt: skip
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            m = re.fullmatch(r"Replica serving at (http://127\.0\.0\.1:\d+)\n", line)
            assert m, line
            url = m.group(1)
            assert get(f"{url}/robots.txt").text() == ("User-agent: *\nDisallow: /private/\n")
            feeds = load_catalog(catalog)
            assert feeds["dalidaily"].list_api == f"{url}/api/list/dalidaily?page={{page}}"
            records = get(feeds["dalidaily"].list_api.format(page=1)).json()["nodeList"]
            assert len(records) == 5
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err
    assert out == "" and err == ""
