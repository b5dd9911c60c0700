"""``scrapy probe FEED``, run as a real process against the replica over loopback."""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from crawler.mirror.paths import STATE_DIR
from replica.content import Source
from tests.conftest import Mirror, ReplicaServer, replica_feeds
from tests.test_listings import aggregate_feed, content_ids

SOURCE = Source(articles=40, per_page=10, faults=False, now=datetime.now(timezone.utc))
NEWEST = [f"NWKMRB{n:08d}" for n in range(39, 29, -1)]  # kunmingribao's page 1


def snapshot(root: Path) -> dict[str, object]:
    """Every file and folder under ``root`` (dot-files too): content hash and mtime."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): (
            (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            if p.is_file()
            else "dir"
        )
        for p in sorted(root.rglob("*"))
    }


def front_matter(stdout: str) -> str:
    """The front matter the probe shows, as the file would hold it."""
    lines = stdout.splitlines()
    start = next(i for i, x in enumerate(lines) if x.startswith("Would write "))
    shown = []
    for line in lines[start + 1 :]:
        shown.append(line[2:])
        if len(shown) > 1 and line == "  ---":
            break
    return "\n".join(shown) + "\n"


@pytest.fixture
def clean() -> Iterator[ReplicaServer]:
    server = ReplicaServer("--no-faults")
    yield server
    server.stop()


def test_probe_of_a_good_feed_shows_what_a_crawl_would_write(clean, mirror_factory):
    mirror: Mirror = mirror_factory(replica_feeds(clean, "kunmingribao"))
    clean.reset()
    result = mirror.scrapy("probe", "kunmingribao")
    assert result.returncode == 0, result.output
    out = result.stdout
    assert not mirror.dir.exists(), "a probe writes nothing, not even the state folder"
    stats = clean.stats()
    assert stats["by_kind"]["listing"] == 1 and content_ids(stats) == [NEWEST[0]]

    listing = f"{clean.url}/category/kunmingribao.html"
    assert out.startswith("Feed kunmingribao: HTML listing + share pages, outlet 昆明日报\n")
    assert f"Listing <{listing}>\n  HTTP 200, " in out
    assert "encoding utf-8 (declared utf-8)" in out
    m = re.search(r"\n  (\d+) links match share_link '(.+)': (\d+) articles, 0 rejected\n", out)
    assert m and int(m[1]) > int(m[3]) == 10, out  # title and "more" links, one article
    assert m[2] == r"NewsShare\.html\?(?:[^#]*&)?infoCode=(?P<infoCode>[A-Za-z0-9_-]{1,64})"
    assert f"  first infoCodes: {', '.join(NEWEST[:5])}, …\n" in out
    assert f"  next page: <{clean.url}/category/kunmingribao_2.html>\n" in out

    article = SOURCE.lookup(NEWEST[0])
    assert article is not None
    assert f"Article {NEWEST[0]} <{clean.url}/html_News/NewsShare.html?infoCode={NEWEST[0]}>" in out
    assert f"  title:  {article.title!r} from article.title 'h1::text'\n" in out
    assert "  date:   '" in out and "' from article.date '.time::text'\n" in out
    assert "  outlet: '昆明日报' from article.outlet '.source a::text'\n" in out
    body = re.search(
        r"  body:   (\d+) characters from article.body '#ContentBody'; (\d+) after", out
    )
    assert body and int(body[1]) > int(body[2]) > 0, out

    m = re.search(r"^Would write (\S+):$", out, re.M)
    assert m, out
    path = Path(m[1])
    assert path.parent == mirror.dir / "_posts" and path.name.endswith(f"-{NEWEST[0]}.md")
    meta = yaml.safe_load(front_matter(out).strip("-\n"))
    assert meta["title"] == article.title and meta["categories"] == "kunmingribao"
    assert meta["tags"] == "昆明日报新闻"
    assert out.rstrip().endswith(
        "OK: feed kunmingribao yields articles; nothing was written or remembered"
    )

    # What the probe showed is what a crawl then writes, byte for byte.
    shown = front_matter(out)
    assert mirror.scrapy("crawl", "kunmingribao").returncode == 0
    assert path.read_text("utf-8").startswith(shown)

    # On a mirror that exists: nothing in it changes, its state folder included.
    before = snapshot(mirror.dir)
    assert any(k.startswith(STATE_DIR) for k in before)
    result = mirror.scrapy("probe", "kunmingribao")
    assert result.returncode == 0, result.output
    assert f"Would write {path} (already in _posts/: a crawl skips it):" in result.stdout
    assert snapshot(mirror.dir) == before


def test_probe_of_a_list_api_feed_names_records_keys_and_rejects(replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(replica, "yunnanwang"))
    result = mirror.scrapy("probe", "yunnanwang")
    assert result.returncode == 0, result.output
    out = result.stdout
    api = f"{replica.url}/api/list/yunnanwang"
    assert out.startswith("Feed yunnanwang: list API ('records' records) + content API")
    assert f"Listing <{api}?page=1>\n  HTTP 200, " in out
    assert "  12 records at list_records 'records': 10 articles, 2 rejected\n" in out
    assert re.search(
        r"    rejected: missing_infocode \(record 1 titled '.+' has no 'infoCode'\)\n", out
    )
    assert "    rejected: bad_infocode (record 3 infoCode '../../etc/passwd')\n" in out
    assert "  outlets: 云南网 10\n" in out
    assert f"  page 2: <{api}?page=2>\n" in out
    code = re.search(r"first infoCodes: (\w+),", out)[1]  # type: ignore[index]
    assert f"Article {code} <{replica.url}/api/content?id={code}>" in out
    assert re.search(
        r"  title:  '.+' from list_fields.title 'title' \(api_fields.title 'title': not found\)",
        out,
    )
    assert "from list_fields.date 'showtime' (api_fields.date 'showtime': not found)" in out
    assert re.search(
        r"  body:   \d+ characters from api_fields.body 'text'; \d+ after cleaning", out
    )
    assert "  categories: yunnanwang\n" in out and "  tags: 云南网新闻\n" in out
    assert not mirror.dir.exists()


def test_probe_of_an_outlet_cut_from_an_aggregate_fetches_only_that_outlet(clean, mirror_factory):
    feeds = {"kunmingribao": aggregate_feed(clean.url, "kunmingribao", ["昆明日报"])}
    mirror = mirror_factory({"feeds": feeds})
    clean.reset()
    result = mirror.scrapy("probe", "kunmingribao")
    assert result.returncode == 0, result.output
    out = result.stdout
    assert "  10 records at list_records 'record': 10 articles, 0 rejected\n" in out
    kept = re.search(r"  outlets: (.+)\n  kept by outlets \['昆明日报'\]: (\d+)\n", out)
    assert kept and f"昆明日报 {kept[2]}" in kept[1], out
    fetched = content_ids(clean.stats())
    assert len(fetched) == 1 and f"Article {fetched[0]} " in out
    assert "  outlet: '昆明日报' from list_fields.outlet 'medianame'" in out
    assert "  categories: kunmingribao\n" in out


def test_probe_of_a_drifted_selector_fails_naming_field_and_selector(clean, mirror_factory):
    catalog = replica_feeds(clean, "kunmingribao")
    mirror = mirror_factory(catalog)
    assert mirror.scrapy("crawl", "kunmingribao").returncode == 0
    catalog["feeds"]["kunmingribao"]["article"] = {"title": "h1.headline::text"}
    mirror.write_catalog(catalog)
    before = snapshot(mirror.dir)

    result = mirror.scrapy("probe", "kunmingribao")
    assert result.returncode == 1, result.output
    out = result.stdout
    assert "  title:  not found: article.title 'h1.headline::text' matched nothing\n" in out
    assert "  outlet: '昆明日报' from article.outlet '.source a::text'\n" in out
    assert "; not cleaned (stopped before cleaning)" in out
    assert (
        "Would drop it as missing_title: article.title 'h1.headline::text' matched nothing" in out
    )
    assert "Would write" not in out
    assert out.rstrip().splitlines()[-1] == (
        f"FAILED: article {NEWEST[0]} would be dropped as missing_title: "
        "article.title 'h1.headline::text' matched nothing"
    )
    assert snapshot(mirror.dir) == before


@pytest.mark.parametrize(
    ("override", "failed"),
    [
        (
            {"share_link": r"NewsDetail\.html\?id=(?P<infoCode>\w+)"},
            r"FAILED: no article on the listing: "
            r"share_link 'NewsDetail\.html\?id=(?P<infoCode>\w+)' matched no link",
        ),
        (
            {"start_urls": ["{url}/category/nosuchfeed.html"]},
            "FAILED: listing <{url}/category/nosuchfeed.html>: HTTP 404",
        ),
    ],
    ids=["share_link", "http_404"],
)
def test_probe_of_a_listing_with_no_article_fails(clean, mirror_factory, override, failed):
    override = {
        k: [u.format(url=clean.url) for u in v] if isinstance(v, list) else v
        for k, v in override.items()
    }
    mirror = mirror_factory(replica_feeds(clean, "kunmingribao", kunmingribao=override))
    clean.reset()
    result = mirror.scrapy("probe", "kunmingribao")
    assert result.returncode == 1, result.output
    assert result.stdout.rstrip().splitlines()[-1] == failed.format(url=clean.url)
    assert "Article " not in result.stdout
    assert content_ids(clean.stats()) == []
    assert not mirror.dir.exists()


def test_probe_of_a_list_api_whose_records_moved(clean, mirror_factory):
    mirror = mirror_factory(
        replica_feeds(clean, "dalidaily", dalidaily={"list_records": "data.nodes"})
    )
    result = mirror.scrapy("probe", "dalidaily")
    assert result.returncode == 1, result.output
    assert result.stdout.rstrip().splitlines()[-1] == (
        f"FAILED: listing <{clean.url}/api/list/dalidaily?page=1>: has no 'data.nodes' array"
    )


def test_probe_usage_errors(replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao", "yunnanwang"))
    result = mirror.scrapy("probe")
    assert result.returncode == 2
    result = mirror.scrapy("probe", "nosuchfeed")
    assert result.returncode == 2
    assert "unknown feed(s): nosuchfeed; the catalog has: kunmingribao, yunnanwang" in (
        result.stderr
    )
    assert "probe" in mirror.scrapy("-h").stdout


def test_probe_goes_on_to_the_next_start_url_while_none_gives_an_article(clean, mirror_factory):
    gone = f"{clean.url}/category/nosuchfeed.html"
    catalog = replica_feeds(clean, "kunmingribao")
    good = catalog["feeds"]["kunmingribao"]["start_urls"][0]
    catalog["feeds"]["kunmingribao"]["start_urls"] = [
        gone,
        good,
        f"{clean.url}/category/third.html",
    ]
    mirror = mirror_factory(catalog)
    clean.reset()
    result = mirror.scrapy("probe", "kunmingribao")
    assert result.returncode == 0, result.output
    out = result.stdout
    assert f"Listing <{gone}>\n  cannot be used: HTTP 404" in out
    assert f"Listing <{good}>" in out and out.index(gone) < out.index(good)
    assert "third.html" not in out, "a listing gave articles: no more start URLs"
    assert out.rstrip().splitlines()[-1].startswith("OK: feed kunmingribao yields articles")
    assert clean.stats()["by_kind"]["listing"] == 2


def cleaned_start(stdout: str) -> str:
    m = re.search(r"^  cleaned body starts: ('.*')(…?)$", stdout, re.M)
    assert m, stdout
    return ast.literal_eval(m[1])


def test_probe_shows_the_start_of_the_cleaned_body_so_a_drop_rule_can_be_checked(
    clean, mirror_factory
):
    catalog = replica_feeds(clean, "kunmingribao")
    mirror = mirror_factory(catalog)
    before = mirror.scrapy("probe", "kunmingribao")
    assert before.returncode == 0, before.output
    first = cleaned_start(before.stdout)
    assert len(first) == 300 and first.startswith("<p>")
    paragraph = first[: first.index("</p>") + 4]

    catalog["feeds"]["kunmingribao"]["drop"] = ["p:first-child"]
    mirror.write_catalog(catalog)
    after = mirror.scrapy("probe", "kunmingribao")
    assert after.returncode == 0, after.output
    shown = cleaned_start(after.stdout)
    assert paragraph not in shown and len(shown) == 300
    # What the probe showed is how the post's body begins.
    assert mirror.scrapy("crawl", "kunmingribao").returncode == 0
    post = mirror.read(mirror.posts()[next(n for n in mirror.posts() if NEWEST[0] in n)])
    assert post.body.startswith(shown) and paragraph not in post.body


def test_probe_of_a_date_that_does_not_parse_shows_the_text_it_tried(clean, mirror_factory):
    mirror = mirror_factory(
        replica_feeds(clean, "kunmingribao", kunmingribao={"article": {"date": ".source"}})
    )
    result = mirror.scrapy("probe", "kunmingribao")
    assert result.returncode == 1, result.output
    out = result.stdout
    assert (
        "Would drop it as bad_date: article.date '.source' gave no date that parses\n"
        "  tried '来源：昆明日报'\n"
    ) in out, out
