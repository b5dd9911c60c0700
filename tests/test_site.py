"""The mirror as a site: built by real Jekyll, read in headless Chromium.

A mirror is crawled from the replica once for the module (with
``MIRROR_BASE_URL`` empty, so the posts' back-links work on any host), built
with Debian's ``jekyll``, and checked as built files, as Atom feeds, and as
pages a browser shows when the site is served on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import lxml.etree
import lxml.html
import pytest
import yaml

from bench.chromium import HEADLESS
from crawler.mirror.archive import POSTS_DIR, Post, write
from crawler.mirror.jekyll import MANIFEST, shipped_files, site_location
from crawler.mirror.paths import STATE_DIR
from crawler.mirror.reader import ArchiveReader
from tests.conftest import Mirror, replica_feeds

JEKYLL = shutil.which("jekyll")
CHROMIUM = shutil.which("chromium")
# Real Jekyll builds and a headless browser: the slow tier.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        JEKYLL is None, reason="Debian's jekyll is not installed (.ci/run installs it)"
    ),
]
TZ = ZoneInfo("Asia/Shanghai")
ATOM = "{http://www.w3.org/2005/Atom}"
HOSTILE_TITLE = '{{ site.title }} {% raw %} <script>alert("x")</script> & </title> 引号“”'
HOSTILE_CODE = "NWHOSTILE0001"


def jekyll_build(source: Path, destination: Path) -> str:
    proc = subprocess.run(
        [JEKYLL, "build", "--source", str(source), "--destination", str(destination)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Error" not in output and "Warning" not in output, output
    return output


@dataclass
class Site:
    mirror: Mirror
    built: Path
    posts: list[Post]  # what the site is built from: _posts/, newest first

    def file(self, url_path: str) -> Path:
        """The built file a site-relative URL path is served from."""
        path = urlsplit(url_path).path
        assert path.startswith("/"), url_path
        target = self.built / path.lstrip("/")
        return target / "index.html" if path.endswith("/") else target

    def page(self, url_path: str) -> lxml.html.HtmlElement:
        return lxml.html.fromstring(self.file(url_path).read_bytes())

    def category(self, category: str) -> list[Post]:
        return [p for p in self.posts if p.category == category]


def newest_first(posts: list[Post]) -> list[Post]:
    # Jekyll's order: by date, then by path; site.posts and site.categories reverse it.
    return sorted(posts, key=lambda p: (p.date, p.path.name if p.path else ""), reverse=True)


@pytest.fixture(scope="module")
def site(replica, tmp_path_factory) -> Site:
    mirror = Mirror(tmp_path_factory.mktemp("site"), replica_feeds(replica))
    result = mirror.scrapy("crawlall", "-s", "MIRROR_BASE_URL=")
    assert result.returncode == 0, result.output
    # A post with the most hostile title, newest of its category.
    newest = max(ArchiveReader(mirror.dir).posts(category="kunmingribao"), key=lambda p: p.date)
    write(
        mirror.dir,
        replace(
            newest,
            info_code=HOSTILE_CODE,
            title=HOSTILE_TITLE,
            date=newest.date + timedelta(minutes=1),
            share_url=newest.share_url.replace(newest.info_code, HOSTILE_CODE),
        ),
        "",
    )
    # What the crawler leaves around: a write in flight, its state, rotated posts.
    (mirror.dir / POSTS_DIR / ".2026-01-01-X.md.abcd.tmp").write_text("---\npartial", "utf-8")
    built = mirror.root / "_site"
    jekyll_build(mirror.dir, built)
    posts = newest_first(list(ArchiveReader(mirror.dir).posts(folders=[POSTS_DIR])))
    return Site(mirror, built, posts)


def text(element) -> str:
    return " ".join(element.text_content().split())


def squash(element) -> str:
    """Text without whitespace: kramdown puts line breaks between blocks."""
    return "".join(element.text_content().split())


def post_links(root) -> list[str]:
    return [a.get("href") for a in root.cssselect("ul.posts a")]


def test_the_crawl_installs_the_site_files(site):
    root = site.mirror.dir
    config = yaml.safe_load((root / "_config.yml").read_text("utf-8"))
    assert config["title"] == "新闻镜像"
    assert (config["url"], config["baseurl"]) == ("", "")  # MIRROR_BASE_URL is empty
    assert config["timezone"] == "Asia/Shanghai" and "old_post" in config["exclude"]
    manifest = json.loads((root / MANIFEST).read_text("utf-8"))["files"]
    for name, content in shipped_files().items():
        if name == "_config.yml":
            continue
        assert (root / name).read_bytes() == content, name
        assert manifest[name] == hashlib.sha256(content).hexdigest()
    categories = sorted(p.stem for p in (root / "category").glob("*.html"))
    assert len(categories) >= 10
    assert sorted(p.stem for p in (root / "feed").glob("*.xml")) == categories
    page = (root / "feed" / "kunmingribao.xml").read_text("utf-8")
    assert page == "---\nlayout: feed\ntitle: 昆明日报新闻\ncategory: kunmingribao\n---\n"


def test_jekyll_builds_posts_only_from_the_mirror(site):
    built = {p.relative_to(site.built).as_posix() for p in site.built.rglob("*") if p.is_file()}
    post_pages = {p for p in built if re.fullmatch(r"[a-z0-9-]+/\d{4}/\d{2}/\d{2}/[^/]+\.html", p)}
    assert len(post_pages) == len(site.posts)
    assert not any(
        p.startswith(("old_post/", f"{STATE_DIR}/", "_posts/")) or "/." in p for p in built
    )
    assert {"index.html", "feed.xml", "assets/mirror.css"} <= built


def test_home_page_lists_each_feed_with_its_newest_posts(site):
    home = site.page("/")
    sections = home.cssselect("section.feed")
    pages = {p.stem for p in (site.mirror.dir / "category").glob("*.html")}
    assert len(sections) == len(pages)
    seen = set()
    for section in sections:
        link = section.cssselect("h2 a")[0]
        category = Path(link.get("href")).stem
        seen.add(category)
        posts = site.category(category)
        assert text(link) == f"{posts[0].outlet}新闻"
        shown = post_links(section)
        assert shown == [site_url(p) for p in posts[:5]]
        assert [text(a) for a in section.cssselect("ul.posts a")] == [p.title for p in posts[:5]]
    assert seen == pages


def site_url(post: Post) -> str:
    return f"/{post.category}/{post.date:%Y/%m/%d}/{post.info_code}.html"


def test_category_pages_list_their_posts_newest_first_under_the_outlet_title(site):
    for page in sorted((site.mirror.dir / "category").glob("*.html")):
        built = site.page(f"/category/{page.name}")
        posts = site.category(page.stem)
        title = f"{posts[0].outlet}新闻"
        assert text(built.cssselect("h1")[0]) == title
        assert built.findtext(".//title") == f"{title} - 新闻镜像"
        assert post_links(built) == [site_url(p) for p in posts]
        times = [t.get("datetime") for t in built.cssselect("ul.posts time")]
        assert times == sorted(times, reverse=True)
        for href in post_links(built):
            assert site.file(href).is_file(), href


def test_each_post_page_shows_title_time_body_tags_and_back_links(site):
    for post in site.posts:
        page = site.page(site_url(post))
        assert page.cssselect("h1.post-title")[0].text_content() == post.title
        shown = post.date.astimezone(TZ)
        assert text(page.cssselect("p.post-meta time")[0]) == f"{shown:%Y-%m-%d %H:%M:%S} (GMT+8)"
        assert [text(a) for a in page.cssselect("p.post-meta a.tag")] == [f"{post.outlet}新闻"]
        body = page.cssselect("div.post-body")[0]
        want = squash(lxml.html.fragment_fromstring(post.body, create_parent="div"))
        assert want and want in squash(body)
        assert not body.cssselect("script, style, iframe")
        links = {text(a): a.get("href") for a in body.cssselect("a")}
        assert links[f"返回{post.outlet}新闻"] == f"/category/{post.category}.html"
        assert links["返回首页"] == "/"
        assert links[post.share_url] == post.share_url
        for href in (links[f"返回{post.outlet}新闻"], "/"):
            assert site.file(href).is_file()


def test_a_hostile_title_is_shown_as_text(site):
    [post] = [p for p in site.posts if p.info_code == HOSTILE_CODE]
    page = site.page(site_url(post))
    assert page.cssselect("h1.post-title")[0].text_content() == HOSTILE_TITLE
    assert page.findtext(".//title") == f"{HOSTILE_TITLE} - 新闻镜像"
    assert not page.cssselect("script")
    home = site.page("/")
    assert HOSTILE_TITLE in [a.text_content() for a in home.cssselect("ul.posts a")]
    feed = lxml.etree.parse(str(site.file("/feed/kunmingribao.xml")))
    assert feed.findtext(f"{ATOM}entry/{ATOM}title") == HOSTILE_TITLE


def atom_feeds(site: Site) -> Iterator[tuple[str, list[Post]]]:
    yield "/feed.xml", site.posts
    for page in sorted((site.mirror.dir / "category").glob("*.html")):
        yield f"/feed/{page.stem}.xml", site.category(page.stem)


def test_atom_feeds_are_valid_newest_first_and_resolve_within_the_site(site):
    limit = 20
    for url, posts in atom_feeds(site):
        where = f"http://mirror.test{url}"
        feed = lxml.etree.parse(str(site.file(url))).getroot()
        assert feed.tag == f"{ATOM}feed", url
        for name in ("id", "title", "updated"):
            assert len(feed.findall(f"{ATOM}{name}")) == 1, (url, name)
        assert urlsplit(feed.findtext(f"{ATOM}id")).scheme, "an absolute IRI"
        assert feed.findtext(f"{ATOM}author/{ATOM}name")
        [self_link] = feed.findall(f"{ATOM}link[@rel='self']")
        assert urljoin(where, self_link.get("href")) == where
        [alternate] = feed.findall(f"{ATOM}link[@rel='alternate']")
        assert site.file(urlsplit(urljoin(where, alternate.get("href"))).path).is_file()
        entries = feed.findall(f"{ATOM}entry")
        assert len(entries) == min(limit, len(posts)), url
        expected = posts[:limit]
        ids = [e.findtext(f"{ATOM}id") for e in entries]
        assert ids == [f"urn:news-mirror:post:{p.info_code}" for p in expected]
        assert len(set(ids)) == len(ids)
        updated = [datetime.fromisoformat(e.findtext(f"{ATOM}updated")) for e in entries]
        assert updated == sorted(updated, reverse=True) == [p.date for p in expected]
        assert datetime.fromisoformat(feed.findtext(f"{ATOM}updated")) == updated[0]
        for entry, post in zip(entries, expected, strict=True):
            assert entry.findtext(f"{ATOM}title") == post.title
            [link] = entry.findall(f"{ATOM}link[@rel='alternate']")
            target = urlsplit(urljoin(where, link.get("href"))).path
            assert target == site_url(post) and site.file(target).is_file()
            assert entry.find(f"{ATOM}category").get("term") == post.category
            content = entry.find(f"{ATOM}content")
            assert content.get("type") == "html"
            html = lxml.html.fragment_fromstring(content.text, create_parent="div")
            assert squash(lxml.html.fragment_fromstring(post.body, create_parent="div")) in squash(
                html
            )


# --- In a browser -------------------------------------------------------------


class StaticServer:
    """``python -m http.server`` serving the built site on 127.0.0.1."""

    def __init__(self, root: Path):
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-u",
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                "--directory",
                str(root),
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"port (\d+)", line)
        assert match, line
        self.url = f"http://127.0.0.1:{match[1]}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()


class Browser:
    """Headless Chromium: a page's DOM after it loaded, as a reader's browser has it."""

    def __init__(self, profile: Path):
        self.profile = profile

    def open(self, url: str) -> lxml.html.HtmlElement:
        proc = subprocess.run(
            [
                CHROMIUM,
                *HEADLESS,
                f"--user-data-dir={self.profile}",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
        dom = proc.stdout.decode("utf-8")
        assert "<html" in dom, dom[:500]
        return lxml.html.fromstring(dom, base_url=url)


@pytest.fixture(scope="module")
def served(site) -> Iterator[str]:
    server = StaticServer(site.built)
    yield server.url
    server.stop()


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_a_reader_goes_from_home_to_a_category_to_a_post_and_back(site, served, tmp_path):
    browser = Browser(tmp_path / "profile")
    home = browser.open(f"{served}/")
    assert home.findtext(".//title") == "新闻镜像"
    assert text(home.cssselect("h1")[0]) == "新闻镜像"
    feeds = {text(a): a.get("href") for a in home.cssselect("section.feed h2 a")}
    assert "昆明日报新闻" in feeds and "春城晚报新闻" in feeds  # UTF-8, read as such

    # Home → category (following the link the reader clicks)
    category_url = urljoin(f"{served}/", feeds["春城晚报新闻"])
    category = browser.open(category_url)
    assert text(category.cssselect("h1")[0]) == "春城晚报新闻"
    assert category.findtext(".//title") == "春城晚报新闻 - 新闻镜像"
    posts = site.category("chunchengwanbao")
    listed = category.cssselect("ul.posts a")
    assert [text(a) for a in listed] == [p.title for p in posts]

    # Category → its newest post
    post = posts[0]
    page = browser.open(urljoin(category_url, listed[0].get("href")))
    assert text(page.cssselect("h1")[0]) == post.title
    assert page.findtext(".//title") == f"{post.title} - 新闻镜像"
    meta = text(page.cssselect(".post-meta")[0])
    assert meta == f"{post.date.astimezone(TZ):%Y-%m-%d %H:%M:%S} (GMT+8) 春城晚报新闻"
    body = text(page.cssselect(".post-body")[0])
    first_paragraph = text(lxml.html.fragments_fromstring(post.body)[0])
    assert first_paragraph and first_paragraph in body
    assert "（文章来源：春城晚报）" in body

    # Post → back to its category, and home, by the back-links in the post
    back = {text(a): a.get("href") for a in page.cssselect(".post-body a")}
    again = browser.open(urljoin(served, back["返回春城晚报新闻"]))
    assert text(again.cssselect("h1")[0]) == "春城晚报新闻"
    home_again = browser.open(urljoin(served + "/x/", back["返回首页"]))
    assert text(home_again.cssselect("h1")[0]) == "新闻镜像"

    # A hostile title stays text in the browser too: no script ran or exists.
    hostile = next(p for p in site.posts if p.info_code == HOSTILE_CODE)
    shown = browser.open(f"{served}{site_url(hostile)}")
    assert text(shown.cssselect("h1")[0]) == " ".join(HOSTILE_TITLE.split())
    assert not shown.cssselect("script")


# --- Files a web server can read ---------------------------------------------


def test_every_file_of_the_mirror_and_of_the_built_site_has_the_umasks_mode(replica, tmp_path):
    """A web server running as another user reads what the umask lets it: the
    crawler's posts, pages and installed site files (and what Jekyll copies of
    them into ``_site``) get 0666 less the umask, as any new file, not 0600."""
    mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao"))
    umask = 0o027  # not the usual 022: the mode must follow the umask, not be fixed
    before = os.umask(umask)
    try:
        result = mirror.scrapy("crawl", "kunmingribao")
        assert result.returncode == 0, result.output
        built = tmp_path / "_site"
        jekyll_build(mirror.dir, built)
    finally:
        os.umask(before)
    want = 0o666 & ~umask
    served = [
        p
        for p in mirror.dir.rglob("*")
        if p.is_file() and STATE_DIR not in p.relative_to(mirror.dir).parts
    ]
    names = {p.relative_to(mirror.dir).as_posix() for p in served}
    assert {
        "_config.yml",
        "assets/mirror.css",
        "_layouts/post.html",
        "feed.xml",
        "category/kunmingribao.html",
        "feed/kunmingribao.xml",
    } <= names
    assert sum(n.startswith("_posts/") for n in names) >= 10
    wrong = {
        p.relative_to(mirror.dir).as_posix(): oct(stat.S_IMODE(p.stat().st_mode))
        for p in served
        if stat.S_IMODE(p.stat().st_mode) != want
    }
    assert wrong == {}
    site_files = [p for p in built.rglob("*") if p.is_file()]
    assert (built / "assets" / "mirror.css") in site_files and len(site_files) >= 10
    wrong = {
        p.relative_to(built).as_posix(): oct(stat.S_IMODE(p.stat().st_mode))
        for p in site_files
        if stat.S_IMODE(p.stat().st_mode) != want
    }
    assert wrong == {}


# --- The user's edits ------------------------------------------------------


def test_later_crawls_keep_the_users_edits_and_update_the_rest(replica, tmp_path):
    mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao"))
    first = mirror.scrapy("crawl", "kunmingribao")
    assert first.returncode == 0, first.output
    root = mirror.dir
    shipped = shipped_files()
    # The user retitles the site and restyles posts; the category layout is
    # an older shipped version, untouched; the home page was deleted.
    config = (
        (root / "_config.yml").read_text("utf-8").replace('title: "新闻镜像"', "title: 我的镜像")
    )
    (root / "_config.yml").write_text(config, "utf-8")
    mine = (
        shipped["_layouts/post.html"]
        .decode()
        .replace('<article class="post"', '<article class="post mine"')
    )
    (root / "_layouts/post.html").write_text(mine, "utf-8")
    old = "---\nlayout: default\n---\n<h1>{{ page.title }}</h1>\n"
    (root / "_layouts/category.html").write_text(old, "utf-8")
    manifest = json.loads((root / MANIFEST).read_text("utf-8"))
    manifest["files"]["_layouts/category.html"] = hashlib.sha256(old.encode()).hexdigest()
    (root / MANIFEST).write_text(json.dumps(manifest), "utf-8")
    (root / "index.html").unlink()

    second = mirror.scrapy("crawl", "kunmingribao")
    assert second.returncode == 0, second.output
    assert (root / "_config.yml").read_text("utf-8") == config
    assert (root / "_layouts/post.html").read_text("utf-8") == mine
    assert f"Kept site file {root / '_layouts/post.html'}: it was edited" in second.stderr
    assert (root / "_layouts/category.html").read_bytes() == shipped["_layouts/category.html"]
    assert (root / "index.html").read_bytes() == shipped["index.html"]

    built = tmp_path / "_site"
    jekyll_build(root, built)
    home = lxml.html.fromstring((built / "index.html").read_bytes())
    assert home.findtext(".//title") == "我的镜像"
    seed = built / "kunmingribao/2022/02/20/NW202202202282281459.html"
    if seed.exists():  # unless rotated to old_post/ by the crawl
        assert lxml.html.fromstring(seed.read_bytes()).cssselect("article.mine")
    assert list(built.glob("kunmingribao/*/*/*/*.html"))


def test_site_files_are_left_alone_when_switched_off(replica, tmp_path):
    mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao"))
    result = mirror.scrapy("crawl", "kunmingribao", "-s", "MIRROR_SITE_ENABLED=False")
    assert result.returncode == 0, result.output
    assert sorted(p.name for p in mirror.dir.iterdir()) == [STATE_DIR, "_posts", "category"] or (
        sorted(p.name for p in mirror.dir.iterdir())
        == [STATE_DIR, "_posts", "category", "old_post"]
    )


@pytest.mark.parametrize(
    ("base", "location"),
    [
        ("//finews.withounder.com", ("//finews.withounder.com", "")),
        ("https://example.org/news/", ("https://example.org", "/news")),
        ("", ("", "")),
        ("/news", ("", "/news")),
    ],
)
def test_site_url_and_baseurl_come_from_the_back_links_base(base, location):
    assert site_location(base) == location


def test_rolling_news_has_its_page_at_emnews_where_its_posts_link(replica, tmp_path):
    """The finews site's rolling news lives at /emnews/ (SPEC §3.1): the
    category page is served there, lists the posts, and their back-link and
    the home page reach it."""
    from crawler.source.catalog import default_catalog_path
    from replica import replica_catalog

    feeds = replica_catalog(replica.url, default_catalog_path())["feeds"]
    mirror = Mirror(tmp_path, {"feeds": {"emnews": feeds["emnews"], "regional": feeds["regional"]}})
    result = mirror.scrapy("crawlall", "-s", "MIRROR_BASE_URL=")
    assert result.returncode == 0, result.output
    built = tmp_path / "_site"
    jekyll_build(mirror.dir, built)
    site = Site(
        mirror, built, newest_first(list(ArchiveReader(mirror.dir).posts(folders=[POSTS_DIR])))
    )
    rolling = site.category("emnews")
    assert rolling and all(p.digest is not None for p in rolling)
    page = site.page("/emnews/")
    assert text(page.cssselect("h1")[0]) == "东财滚动新闻"
    assert post_links(page) == [site_url(p) for p in rolling]
    assert "/emnews/" in {a.get("href") for a in site.page("/").cssselect("h2 a")}
    assert not (built / "category" / "emnews.html").exists()
    for post in rolling[:5]:
        shown = site.page(site_url(post))
        quote = shown.cssselect("div.post-body blockquote")
        assert quote and text(quote[0]) == post.digest
        links = {text(a): a.get("href") for a in shown.cssselect("div.post-body a")}
        assert links["返回东财滚动新闻"] == "/emnews/" and site.file("/emnews/").is_file()
        assert links[post.share_url] == post.share_url
        assert [a.get("href") for a in shown.cssselect("p.post-meta a.tag")] == ["/emnews/"]
    atom = lxml.etree.parse(str(built / "feed" / "emnews.xml")).getroot()
    alternate = [
        link.get("href") for link in atom.findall(f"{ATOM}link") if link.get("rel") == "alternate"
    ]
    assert alternate and all(urlsplit(href).path == "/emnews/" for href in alternate), alternate
