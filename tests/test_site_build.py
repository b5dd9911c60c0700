"""``scrapy site``: the mirror built by real Jekyll, indexed by real Pagefind,
searched by typing into the built site in headless Chromium (SPEC §10)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urljoin

import lxml.html
import pytest

from bench.chromium import Chromium
from crawler.mirror.archive import POSTS_DIR, Post, write
from crawler.mirror.reader import ArchiveReader
from crawler.ops.search import spaced, spaced_html
from crawler.ops.site import SiteError, build_site
from tests.conftest import Mirror, replica_feeds

JEKYLL = shutil.which("jekyll")
CHROMIUM = shutil.which("chromium")
# Real Jekyll builds and a headless browser: the slow tier, as tests/test_site.py.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        JEKYLL is None, reason="Debian's jekyll is not installed (.ci/run installs it)"
    ),
]
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
MIXED_CODE = "NWMIXEDTERMS01"
MIXED_TITLE = "5G基站建设提速 A股通信板块走强"
MIXED_BODY = "<p>进入21世纪第三个十年，滇中新区的5G基站已覆盖全部园区。</p>"


def site_url(post: Post) -> str:
    return f"/{post.category}/{post.date:%Y/%m/%d}/{post.info_code}.html"


class Built:
    def __init__(self, mirror: Mirror, result) -> None:  # type: ignore[no-untyped-def]
        self.mirror = mirror
        self.result = result
        self.site = mirror.dir / "_site"
        self.posts = list(ArchiveReader(mirror.dir).posts(folders=[POSTS_DIR]))


@pytest.fixture(scope="module")
def built(replica, tmp_path_factory) -> Built:
    mirror = Mirror(tmp_path_factory.mktemp("site-build"), replica_feeds(replica))
    crawl = mirror.scrapy("crawlall", "-s", "MIRROR_BASE_URL=")
    assert crawl.returncode == 0, crawl.output
    newest = max(ArchiveReader(mirror.dir).posts(category="kunmingribao"), key=lambda p: p.date)
    write(
        mirror.dir,
        replace(
            newest,
            info_code=MIXED_CODE,
            title=MIXED_TITLE,
            body=MIXED_BODY,
            date=newest.date - timedelta(minutes=1),
            share_url=newest.share_url.replace(newest.info_code, MIXED_CODE),
        ),
        "",
    )
    result = mirror.scrapy("site")
    assert result.returncode == 0, result.output
    return Built(mirror, result)


def test_scrapy_site_builds_the_site_and_its_search_index(built):
    site = built.site
    assert re.fullmatch(
        rf"Built the site of {len(built.posts)} posts in {re.escape(str(site))}: jekyll [\d.]+ s, "
        rf"search index of {len(built.posts)} pages \([\d.]+ MB\) [\d.]+ s\n",
        built.result.stdout,
    ), built.result.stdout
    for post in built.posts:
        assert (site / site_url(post).lstrip("/")).is_file(), post.info_code
    assert (site / "pagefind" / "pagefind.js").is_file()
    assert (site / "pagefind" / "pagefind-entry.json").is_file()
    assert (site / "search" / "index.html").is_file()
    # Every page has the search box, sending its query to /search/.
    for page in ("index.html", "category/kunmingribao.html", site_url(built.posts[0]).lstrip("/")):
        form = lxml.html.fromstring((site / page).read_bytes()).cssselect("form.search")[0]
        assert form.get("action") == "/search/" and form.cssselect("input[name=q]"), page
    # The index was built beside the site, in a temporary folder now gone.
    assert not [p for p in built.mirror.dir.iterdir() if p.name.startswith(".search-")]


def test_another_output_folder(built, tmp_path):
    result = built.mirror.scrapy("site", "-o", str(tmp_path / "public"))
    assert result.returncode == 0, result.output
    assert (tmp_path / "public" / "index.html").is_file()
    assert (tmp_path / "public" / "pagefind" / "pagefind.js").is_file()


def test_the_index_holds_each_han_character_as_a_word():
    assert spaced("A股5G与21世纪") == "A 股 5G 与 21 世  纪 "
    assert spaced("认为，6G板块") == " 认  为  ， 6G 板  块 "  # not one word "，6G"
    page = (
        '<html><title>标题</title><body><article class="post" data-pagefind-body>'
        '<h1 data-title="昆明日报">昆明</h1><p>A股 &amp; <a href="/x">下载</a></p></article>'
        "<footer>页脚</footer></body></html>"
    )
    assert spaced_html(page) == (
        '<html><title>标题</title><body><article class="post" data-pagefind-body>'
        '<h1 data-title="昆明日报"> 昆  明 </h1><p>A 股  &amp; <a href="/x"> 下  载 </a></p>'
        "</article><footer>页脚</footer></body></html>"
    )


def query_cases(built: Built) -> list[tuple[str, Post]]:
    """Queries of 2-4 characters drawn from mirrored titles, and mixed terms,
    each with a post it must find on the first page: drawn only where at most
    10 posts contain the query (a first page can hold them all)."""
    texts = {p.info_code: p.title + lxml.html.fromstring(f"<div>{p.body}</div>").text_content()
             for p in built.posts}  # fmt: skip
    by_code = {p.info_code: p for p in built.posts}
    cases: list[tuple[str, Post]] = []
    seen: set[str] = set()
    for post in sorted(built.posts, key=lambda p: p.info_code):
        for run in re.findall(r"[\u4e00-\u9fff]+", post.title):
            for size in (2, 3, 4):
                for start in range(0, len(run) - size + 1, 3):
                    query = run[start : start + size]
                    if query in seen:
                        continue
                    seen.add(query)
                    if sum(query in t for t in texts.values()) <= 10:
                        cases.append((query, post))
    cases = cases[:: max(1, len(cases) // 40)]  # 40 or so, from every kind of post
    mixed = by_code[MIXED_CODE]
    cases += [(q, mixed) for q in ("A股", "5G", "21世纪", "5G基站", "A股通信")]
    return cases


class Reader:
    """A reader at the built site, served on 127.0.0.1, in headless Chromium."""

    def __init__(self, site: Path, profile: Path):
        self.server = subprocess.Popen(
            [sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory",
             str(site), "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self.server.stdout is not None
        match = re.search(r"port (\d+)", self.server.stdout.readline())
        assert match
        self.url = f"http://127.0.0.1:{match[1]}"
        assert CHROMIUM is not None
        self.browser = Chromium(CHROMIUM, profile)

    def results(self, query: str) -> list[dict]:
        self.browser.wait_for(f"document.body.dataset.searched === {json.dumps(query)}")
        return self.browser.evaluate(
            """[...document.querySelectorAll("li.search-result")].map((li) => ({
                title: li.querySelector("a.search-result-title").textContent,
                href: li.querySelector("a.search-result-title").getAttribute("href"),
                date: li.querySelector(".search-result-meta time").textContent,
                outlet: li.querySelector(".search-result-outlet").textContent,
                snippet: li.querySelector(".search-result-snippet").innerHTML,
                marked: [...li.querySelectorAll(".search-result-snippet mark")]
                    .map((m) => m.textContent).join(""),
            }))"""
        )

    def stop(self) -> None:
        self.browser.close()
        self.server.terminate()
        self.server.wait(10)
        if self.server.stdout:
            self.server.stdout.close()


@pytest.fixture
def reader(built, tmp_path) -> Iterator[Reader]:
    reader = Reader(built.site, tmp_path / "profile")
    yield reader
    reader.stop()


@needs_chromium
def test_a_reader_types_a_query_on_the_home_page_and_finds_the_post(built, reader):
    post = next(p for p in built.posts if p.info_code == MIXED_CODE)
    browser = reader.browser
    browser.open(f"{reader.url}/")
    browser.type("form.search input[name=q]", "5G基站")
    browser.press_enter()
    results = reader.results("5G基站")
    assert browser.evaluate("location.pathname") == "/search/"
    [found] = [r for r in results if r["href"] == site_url(post)]
    assert found["title"] == MIXED_TITLE
    assert found["date"] == f"{post.date:%Y-%m-%d %H:%M}"
    assert found["outlet"] == f"{post.outlet}新闻"
    assert "5G基站" in found["marked"] and "<mark>" in found["snippet"]
    # The result links to the post.
    browser.open(urljoin(f"{reader.url}/search/", found["href"]))
    assert browser.evaluate("document.querySelector('h1.post-title').textContent") == MIXED_TITLE


@needs_chromium
def test_queries_typed_into_the_search_page_find_their_posts(built, reader):
    cases = query_cases(built)
    assert len(cases) >= 40
    browser = reader.browser
    browser.open(f"{reader.url}/search/")
    missed = []
    for query, post in cases:
        browser.type("#search-input", query)
        results = reader.results(query)
        assert len(results) <= 10
        if site_url(post) not in [r["href"] for r in results]:
            missed.append((query, post.info_code, [r["href"] for r in results]))
        for result in results:  # each result holds the query, marked in its snippet
            assert re.sub(r"\s", "", query) in re.sub(r"\s", "", result["marked"]), (query, result)
    assert missed == []


@needs_chromium
def test_a_query_nothing_matches_says_so(built, reader):
    reader.browser.open(f"{reader.url}/search/?q=%E4%B8%8D%E5%AD%98%E5%9C%A8%E7%9A%84%E8%AF%8D")
    assert reader.results("不存在的词") == []
    assert reader.browser.evaluate("document.getElementById('search-status').textContent") == (
        "“不存在的词”：没有找到"
    )


def test_without_jekyll_the_command_says_what_is_missing(built, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no jekyll on it
    result = built.mirror.scrapy("site", "-o", str(tmp_path / "out"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: Jekyll is not installed: `scrapy site` needs the `jekyll` command "
        "(Debian/Ubuntu: apt-get install jekyll ruby-jekyll-feed; elsewhere: gem install jekyll)"
    )
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_a_failed_jekyll_build_exits_non_zero_naming_the_fault(replica, tmp_path):
    mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao"))
    assert mirror.scrapy("crawl", "kunmingribao").returncode == 0
    (mirror.dir / "_layouts" / "post.html").write_text("{% if %}broken", "utf-8")
    result = mirror.scrapy("site")
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: jekyll build of {mirror.dir} failed (exit status 1):")
    assert "post.html" in result.stderr and "Traceback" not in result.output
    with pytest.raises(SiteError, match="is not a mirror"):
        build_site(tmp_path / "nothing-here")


def newest_first(posts: list[Post]) -> list[Post]:
    # Jekyll's order: by date, then by path; site.categories reverses it.
    return sorted(posts, key=lambda p: (p.date, p.path.name if p.path else ""), reverse=True)


def test_long_categories_are_split_into_pages_newest_first(replica, tmp_path):
    from crawler.source.catalog import default_catalog_path
    from replica import replica_catalog

    feeds = replica_catalog(replica.url, default_catalog_path())["feeds"]
    mirror = Mirror(tmp_path, {"feeds": {"emnews": feeds["emnews"], "regional": feeds["regional"]}})
    crawl = mirror.scrapy("crawlall", "-s", "MIRROR_BASE_URL=")
    assert crawl.returncode == 0, crawl.output
    config = mirror.dir / "_config.yml"
    text = config.read_text("utf-8")
    assert "category_page_size: 200\n" in text
    config.write_text(text.replace("category_page_size: 200", "category_page_size: 3"), "utf-8")
    result = mirror.scrapy("site")
    assert result.returncode == 0, result.output
    site = mirror.dir / "_site"
    posts = list(ArchiveReader(mirror.dir).posts(folders=[POSTS_DIR]))
    first_pages = {"emnews": "/emnews/", "kunmingribao": "/category/kunmingribao.html"}
    for category, first in first_pages.items():
        mine = newest_first([p for p in posts if p.category == category])
        assert len(mine) > 3 * 2, category  # three pages at least
        listed: list[str] = []
        url, urls = first, []
        while url:
            urls.append(url)
            path = site / (url.lstrip("/") + ("index.html" if url.endswith("/") else ""))
            page = lxml.html.fromstring(path.read_bytes())
            links = [a.get("href") for a in page.cssselect("ul.posts a")]
            assert 0 < len(links) <= 3
            listed += links
            previous = page.cssselect("nav.pages a[rel=prev]")
            assert [a.get("href") for a in previous] == ([urls[-2]] if len(urls) > 1 else [])
            following = page.cssselect("nav.pages a[rel=next]")
            url = following[0].get("href") if following else None
        assert listed == [site_url(p) for p in mine], category
        pages = -(-len(mine) // 3)
        assert len(urls) == pages
        more = "/emnews/page{}/" if category == "emnews" else f"/category/{category}/page{{}}.html"
        assert urls[1:] == [more.format(n) for n in range(2, pages + 1)]
    # The home page lists each category once, by its first page.
    home = lxml.html.fromstring((site / "index.html").read_bytes())
    headings = [a.get("href") for a in home.cssselect("section.feed h2 a")]
    assert len(headings) == len(set(headings)) and "/emnews/" in headings
    assert not [h for h in headings if "page" in h]

    # Larger pages: the pages no longer needed are removed, from the mirror and the site.
    config.write_text(text, "utf-8")
    again = mirror.scrapy("site")
    assert again.returncode == 0, again.output
    assert not list((mirror.dir / "category").glob("*/page*.html"))
    assert not (site / "emnews" / "page2").exists()
    assert not (site / "category" / "kunmingribao").exists()
