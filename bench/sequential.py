"""Baseline: the crawl a newcomer writes, one request at a time.

A plain loop over a feed's listing pages with a standard HTTP client
(``requests``, one keep-alive session), doing the same work per article as
the crawler: the same selectors on the same pages (parsel), the same checks
(title, date, outlet), the same body cleaner, the same archive format written
the same atomic way, and dedup on the post file names already in the mirror.
It stops paging at a page with nothing new, like the crawler::

    python -m bench.sequential CATALOG FEED MIRROR_DIR [BASE_URL]

and prints one JSON line: posts written, pages read, requests made, and the
time of its first request.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urljoin

import requests
from parsel import Selector

from crawler.cleaning.cleaner import BodyCleaner
from crawler.cleaning.rules import load_rules
from crawler.mirror.archive import (
    OLD_POSTS_DIR,
    POSTS_DIR,
    Post,
    info_code_of,
    render,
    write_atomic,
)
from crawler.source.catalog import Feed, load_catalog
from crawler.source.dates import parse_date
from crawler.source.fields import one_line, outlet_name

USER_AGENT = "news-mirror-bench/sequential"


def mirrored(root: Path) -> set[str]:
    codes: set[str] = set()
    for folder in (POSTS_DIR, OLD_POSTS_DIR):
        if (root / folder).is_dir():
            codes.update(filter(None, map(info_code_of, os.listdir(root / folder))))
    return codes


def text(session: requests.Session, url: str) -> tuple[str, str]:
    response = session.get(url, timeout=30)
    response.raise_for_status()
    if not response.encoding:
        response.encoding = "utf-8"
    return response.text, response.url


def article(session: requests.Session, feed: Feed, url: str) -> dict[str, str | None]:
    page, final_url = text(session, url)
    sel = Selector(text=page, base_url=final_url)
    found: dict[str, str | None] = {}
    for name, css in feed.article.items():
        if name == "body":
            nodes = sel.css(css)
            found[name] = "".join(nodes[0].xpath("node()").getall()) if nodes else None
        else:
            found[name] = " ".join(sel.css(css).getall()) or None
    found["url"] = final_url
    return found


def crawl(feed: Feed, root: Path, base_url: str) -> dict[str, object]:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    cleaner = BodyCleaner(feed.drop, load_rules(feed.cleaning))
    known = mirrored(root)
    written = pages = requests_made = 0
    first_request = time.time()
    url: str | None = feed.start_urls[0]
    while url and pages < feed.max_pages:
        page, final_url = text(session, url)
        requests_made += 1
        pages += 1
        sel = Selector(text=page, base_url=final_url)
        new: dict[str, str] = {}
        for href in sel.css("a::attr(href)").getall():
            link = urljoin(final_url, href.strip())
            match = feed.share_link.search(link)
            if match and match["infoCode"] not in known:
                new.setdefault(match["infoCode"], link)
        for code, link in new.items():
            known.add(code)
            found = article(session, feed, link)
            requests_made += 1
            title = one_line(found["title"])
            if not title or not one_line(found["date"]) or not (found["body"] or "").strip():
                continue
            try:
                date = parse_date(found["date"] or "", feed.timezone)
            except ValueError:
                continue
            body = cleaner.clean(found["body"] or "", found["url"] or link)
            if not body:
                continue
            outlet = outlet_name(found["outlet"])
            post = Post(
                info_code=code, title=title, date=date, category=feed.category,
                outlet=feed.outlet_for(outlet), body=body,
                share_url=feed.share_url.format(infoCode=code) if feed.share_url else link,
            )  # fmt: skip
            write_atomic(root / POSTS_DIR / post.filename, render(post, base_url))
            written += 1
        if not new:
            break
        next_href = sel.css(feed.next_page).get()
        url = urljoin(final_url, next_href.strip()) if next_href else None
    session.close()
    return {"items": written, "pages": pages, "requests": requests_made,
            "first_request": first_request}  # fmt: skip


def main(argv: list[str]) -> int:
    catalog, feed_name, mirror = argv[:3]
    base_url = argv[3] if len(argv) > 3 else "//finews.withounder.com"
    feed = load_catalog(catalog)[feed_name]
    if feed.list_api or feed.api:
        raise SystemExit("the sequential baseline reads HTML feeds only")
    print(json.dumps(crawl(feed, Path(mirror), base_url)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
