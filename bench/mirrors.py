"""Mirrors of a given size, made of real post files, for the start-up benchmarks.

:func:`make_archive` writes ``size`` posts in the archive format with
:func:`crawler.mirror.archive.render`: the ``first`` articles given (those a feed's
first listing page shows, so that a re-crawl finds nothing new) and then
made-up ones, one every ten minutes back in time, each with the seed's cleaned
body. Posts within ``keep_days`` are in ``_posts/``, older ones in
``old_post/``, as after years of crawling with rotation. :func:`link_subset`
makes a smaller mirror of hard links to the same files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from parsel import Selector

from crawler.cleaning.cleaner import BodyCleaner
from crawler.cleaning.eastmoney import RULES as EASTMONEY
from crawler.mirror.archive import (
    OLD_POSTS_DIR,
    POSTS_DIR,
    Post,
    category_page,
    render,
    write_atomic,
)
from replica.content import SEED_BODY_PATH, TZ

BASE_URL = "//finews.withounder.com"
SHARE_URL = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode={}"


def seed_body() -> str:
    raw = SEED_BODY_PATH.read_text("utf-8")
    return BodyCleaner(rules=EASTMONEY).clean(raw, SHARE_URL.format("x"))


def make_archive(root: Path, size: int, first: Sequence[tuple[str, datetime]],
                 now: datetime, keep_days: int = 3) -> list[Path]:  # fmt: skip
    """Write ``size`` posts under ``root``; their paths, newest first."""
    body = seed_body()
    cutoff = now - timedelta(days=keep_days)
    (root / POSTS_DIR).mkdir(parents=True, exist_ok=True)
    (root / OLD_POSTS_DIR).mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for i in range(size):
        if i < len(first):
            code, date = first[i]
        else:
            code, date = f"NWBENCH{i:010d}", now - timedelta(minutes=10 * i)
        post = Post(
            info_code=code, title=f"昆明日报基准文章第{i}篇：产业招商提质增效", date=date,
            category="kunmingribao", outlet="昆明日报", body=body,
            share_url=SHARE_URL.format(code),
        )  # fmt: skip
        folder = POSTS_DIR if date >= cutoff else OLD_POSTS_DIR
        path = root / folder / post.filename
        path.write_text(render(post, BASE_URL), "utf-8")
        paths.append(path)
    write_atomic(root / "category" / "kunmingribao.html", category_page("昆明日报", "kunmingribao"))
    return paths


def link_subset(paths: Sequence[Path], source: Path, target: Path) -> None:
    """A mirror at ``target`` holding hard links to ``paths`` (under ``source``)."""
    for path in paths:
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, dest)
    category = source / "category"
    if category.is_dir():
        for page in category.iterdir():
            dest = target / "category" / page.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.link(page, dest)


def replica_first_page(
    articles: int, per_page: int, now: datetime, feed: str
) -> list[tuple[str, datetime]]:
    """The articles a replica made with these arguments shows on ``feed``'s first page."""
    import re

    from crawler.source.catalog import DEFAULT_SHARE_LINK
    from replica import Replica

    replica = Replica(articles=articles, per_page=per_page, faults=False, now=now)
    page = Selector(text=replica.site.listing(feed, 1, "http://127.0.0.1").body.decode("utf-8"))
    links = re.compile(DEFAULT_SHARE_LINK)
    codes = dict.fromkeys(
        m["infoCode"] for m in map(links.search, page.css("a::attr(href)").getall()) if m
    )
    found = []
    for code in codes:
        article = replica.article(code)
        assert article is not None and article["date"] is not None
        found.append((code, article["date"].astimezone(TZ)))
    return found
