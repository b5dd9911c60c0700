"""Hostile and broken source: every bad page is logged, none reaches a post unsanitized.

One crawl of the replica's hostile feeds (:mod:`replica.hostile`):
truncated and binary pages, an empty 200, pages over ``DOWNLOAD_MAXSIZE``,
redirect loops and redirects off the feed's hosts, a page slower than
``DOWNLOAD_TIMEOUT``, connection resets, a listing of 10,000 links, JSON that
is not JSON or of the wrong shape, lying charsets, titles and outlets built to
break YAML, Markdown and Liquid, and the OWASP XSS filter-evasion vectors as
bodies, with good articles between them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import lxml.html
import pytest

from crawler.cleaning.cleaner import is_safe
from crawler.mirror.archive import Post, parse, render
from replica.hostile import CASES, DATE_TEXTS, DATE_TITLE, xss_vectors
from tests.faults import HostileReport, hostile_inputs, hostile_trial, unsafe_reasons


@pytest.fixture(scope="module")
def hostile(replica, tmp_path_factory) -> HostileReport:
    return hostile_trial(tmp_path_factory.mktemp("hostile"), replica)


def test_the_run_survives_every_hostile_input_without_a_traceback(hostile):
    assert hostile.inputs == hostile_inputs() >= 150
    assert hostile.exit_code == 0, hostile.details
    assert hostile.tracebacks == 0


def test_no_post_file_is_unsafe(hostile):
    assert hostile.posts >= 150
    assert hostile.unsafe_outputs == 0, hostile.details.get("unsafe")


def test_good_articles_on_the_same_pages_are_mirrored_with_their_exact_titles(hostile):
    assert hostile.good_missed == 0, hostile.details.get("good_missed")
    assert hostile.wrong_titles == 0, hostile.details.get("wrong_titles")


def test_each_refused_input_is_logged_with_its_url(hostile):
    assert hostile.refused_mirrored == 0, hostile.details.get("refused_mirrored")
    assert hostile.not_logged == 0, hostile.details.get("not_logged")


def test_nothing_off_the_feeds_hosts_or_disallowed_by_robots_is_fetched(hostile):
    assert hostile.forbidden_fetches == 0, hostile.details.get("forbidden_fetches")


def test_the_owasp_vectors_are_served_and_most_articles_carrying_them_survive(hostile):
    vectors = [c for c in CASES if c.startswith("HX-xss-")]
    assert len(vectors) == len(xss_vectors()) >= 60
    # Each carrier is mirrored, cleaned (unsafe_outputs above is 0), or, where a
    # vector swallows the rest of the page, refused with a log line naming it.
    mirrored = [c for c in hostile.mirrored if c.startswith("HX-xss-")]
    assert len(mirrored) >= 0.9 * len(vectors), sorted(set(vectors) - set(mirrored))


def test_dates_printed_with_labels_and_words_around_them_are_read(hostile):
    """Each page's date is the first date-time in its text (a date alone: 00:00);
    the page's title names the time its post must carry."""
    posts = {
        p.name.split("-", 3)[3][: -len(".md")]: parse(p.read_text("utf-8"), str(p))
        for p in (Path(hostile.mirror) / "_posts").glob("*.md")
    }
    for code in DATE_TEXTS:
        assert code in posts, (code, hostile.details.get("good_missed"))
        post = posts[code]
        assert post.title.startswith(f"{DATE_TITLE} "), post.title
        assert f"{DATE_TITLE} {post.date:%Y-%m-%d %H:%M}" == post.title, code
        assert post.date.utcoffset().total_seconds() == 8 * 3600


POST = Post(
    info_code="X1", title="t", date=__import__("datetime").datetime(2024, 1, 1, 8, 0).astimezone(),
    category="kunmingribao", outlet="昆明日报", body="<p>正文</p>",
    share_url="http://finews.zning.xyz/html_News/NewsShare.html?infoCode=X1",
)  # fmt: skip


@pytest.mark.parametrize(
    "tamper, reason",
    [
        (lambda t: t.replace("<p>正文</p>", "<p>正文</p><script>alert(1)</script>"), "body"),
        (lambda t: t.replace("<p>正文</p>", '<p onclick="x()">正文</p>'), "body"),
        (lambda t: t.replace("<p>正文</p>", "<p>{{ site.github }}</p>"), "Liquid"),
        (lambda t: t.replace("<http://", "<javascript:alert(1)//http://"), "share link"),
        (lambda t: t.replace("[返回首页]", "[x](javascript:alert(1))[返回首页]"), "back-links"),
        (lambda t: t.replace("返回昆明日报", "返回](javascript:alert(1))[昆明日报"), "label"),
        (lambda t: t[:-20], "whole"),
    ],
)
def test_the_safety_check_catches_what_it_must(tamper, reason):
    text = render(POST, "//finews.withounder.com")
    assert unsafe_reasons(text) == []
    reasons = unsafe_reasons(tamper(text))
    assert any(reason in r for r in reasons), reasons


JEKYLL = shutil.which("jekyll")


@pytest.mark.skipif(JEKYLL is None, reason="Debian's jekyll is not installed (.ci/run installs it)")
def test_jekyll_builds_the_hostile_mirror_into_pages_that_run_nothing(hostile, tmp_path):
    """The proof of the pudding: Liquid in an outlet would fail the build or run;
    a Markdown link built by a title, outlet or share link would show in the page."""
    built = tmp_path / "site"
    proc = subprocess.run(
        [JEKYLL, "build", "--source", hostile.mirror, "--destination", str(built)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Error" not in output and "Liquid" not in output, output
    posts = [
        parse(p.read_text("utf-8"), str(p)) for p in (Path(hostile.mirror) / "_posts").glob("*.md")
    ]
    titles = {post.info_code: post.title for post in posts}
    pages = 0
    for path in built.rglob("*.html"):
        root = lxml.html.fromstring(path.read_bytes())
        bodies = root.cssselect("div.post-body")
        if not bodies:
            continue
        pages += 1
        raw = path.read_text("utf-8")  # as Jekyll wrote it, not as lxml would
        inner = raw[raw.index('<div class="post-body">') : raw.rindex("</article>")]
        # Built: Liquid has run (or not) already; "{%" left in the text is text.
        assert is_safe(inner.replace("{", "&#123;")), (path, inner[:3000])
        shown = bodies[0].text_content()
        if "include-etc-passwd" in path.as_posix():  # HX-liquid-outlet: the tag shows as typed
            assert "返回{% include /etc/passwd %}{{ site.time }}日报新闻" in shown
        # The layout's own search box is the one form; nothing else may run or submit.
        assert [f.get("action") for f in root.cssselect("form")] == ["/search/"], path
        assert not root.cssselect("script, iframe, object, embed, base, article form"), path
        links = [a.get("href") or "" for a in bodies[0].cssselect("a")]
        assert all(href.startswith(("http://", "https://", "//", "/")) for href in links), links
        title = root.cssselect("h1.post-title")[0].text_content()
        assert title in titles.values(), title
    assert pages == hostile.posts == len(titles)
