"""``scrapy verify`` as a user runs it, on a crawled mirror and on one damaged on purpose."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from crawler.mirror.archive import OLD_POSTS_DIR, POSTS_DIR, read, render, write
from crawler.ops.verify import markdown_outside_html
from tests.conftest import Mirror, replica_feeds
from tests.utils.cmdline import run_scrapy

SEED = "2022-02-20-NW202202202282281459.md"


@pytest.fixture(scope="module")
def crawled(replica, tmp_path_factory) -> Mirror:
    mirror = Mirror(
        tmp_path_factory.mktemp("verify"), replica_feeds(replica, "kunmingribao", "yunnanxinwen")
    )
    result = mirror.scrapy("crawlall")
    assert result.returncode == 0, result.output
    return mirror


def verify(root: Path, *args: str):
    return run_scrapy("verify", "-s", f"MIRROR_DIR={root}", *args, cwd=root.parent)


@pytest.fixture
def copy(crawled, tmp_path) -> Path:
    root = tmp_path / "mirror"
    shutil.copytree(crawled.dir, root)
    return root


def posts_dir(root: Path) -> list[Path]:
    return sorted((root / POSTS_DIR).glob("*.md"))


def test_a_crawled_mirror_verifies_clean(crawled, copy):
    count = len(crawled.posts())
    result = verify(copy)
    assert result.returncode == 0, result.output
    assert result.stdout.strip().startswith(f"{count} posts, ")
    assert result.stdout.strip().endswith("no problems")
    categories = {p.stem for p in (copy / "category").glob("*.html")}
    assert f", {len(categories)} categories checked" in result.stdout


def test_verify_prints_each_problem_with_its_path_and_fails(copy):
    files = posts_dir(copy)
    damaged: dict[str, str] = {}

    def damage(path: Path, text: str, expect: str) -> None:
        path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        damaged[str(path)] = expect

    # front matter that does not load
    damage(
        files[0],
        files[0].read_text("utf-8").replace('title: "', "title: [", 1),
        "front matter is not valid YAML",
    )
    # a key missing
    text = files[1].read_text("utf-8")
    damage(
        files[1], text.replace(text.split("\n")[4] + "\n", "", 1), "front matter lacks 'categories'"
    )
    # file name date is not the front matter's
    post = read(files[2])
    moved = files[2].with_name("1999-01-01-" + post.info_code + ".md")
    files[2].rename(moved)
    damaged[str(moved)] = "file name date 1999-01-01 is not the front matter's"
    # an unsafe body, and Markdown Jekyll would turn into a javascript: link
    post = read(files[3])
    damage(
        files[3],
        render(replace(post, body=post.body + "<script>x()</script>"), ""),
        "body keeps unsafe markup",
    )
    post = read(files[4])
    evil = post.body + "看这里 [点击](javascript:alert(1))"
    damage(
        files[4],
        files[4].read_text("utf-8").replace(post.body, evil, 1),
        "body has Markdown outside its HTML blocks",
    )
    # a newline at the end, and a back-link that is not the format's
    damage(files[5], files[5].read_text("utf-8") + "\n", "1 line(s) after the back-links")
    damage(files[6], files[6].read_text("utf-8").replace("[返回首页]", "[首页]"), "line ")
    # not UTF-8
    damage(files[7], files[7].read_text("utf-8").encode("gb18030"), "not UTF-8")
    # not a post's name
    damage(copy / POSTS_DIR / "notes.md", "hello", "not a post file name")
    # the same infoCode twice: in _posts/ and old_post/
    dup = read(files[8])
    (copy / OLD_POSTS_DIR).mkdir(exist_ok=True)
    twin = copy / OLD_POSTS_DIR / files[8].name
    shutil.copy(files[8], twin)
    damaged[str(twin)] = f"infoCode {dup.info_code} is also in {POSTS_DIR}/{files[8].name}"
    damaged[str(files[8])] = f"infoCode {dup.info_code} is also in {OLD_POSTS_DIR}/{files[8].name}"
    # a category without its page, and a broken category page
    lonely = read(files[9])
    files[9].unlink()
    write(copy, replace(lonely, category="nopage"), "")
    damaged[str(copy / "category" / "nopage.html")] = (
        "missing: category nopage has posts but no page"
    )
    page = copy / "category" / "kunmingribao.html"
    damage(
        page,
        page.read_text("utf-8").replace("layout: category", "layout: page"),
        "layout is 'page', not 'category'",
    )
    # the crawler's own files in flight are not posts
    (copy / POSTS_DIR / ".2024-01-01-X.md.abc.tmp").write_text("---\npartial")

    result = verify(copy)
    assert result.returncode == 1, result.output
    lines = result.stdout.splitlines()
    assert all(line.startswith(str(copy)) for line in lines), "one line per problem"
    for path, expect in damaged.items():
        mine = [line for line in lines if line.startswith(f"{path}: ")]
        assert mine, f"no problem reported for {path}:\n{result.stdout}"
        assert any(expect in line for line in mine), (path, expect, mine)
    # Nothing else is reported: the other files are fine.
    reported = {line.split(": ", 1)[0] for line in lines}
    assert reported == set(damaged), reported ^ set(damaged)
    assert "problems in" in result.stderr

    # Same findings with one process as with a pool.
    single = verify(copy, "--jobs", "1")
    assert single.stdout == result.stdout


def test_verify_refuses_a_missing_mirror(tmp_path):
    result = verify(tmp_path / "nothing")
    assert result.returncode == 2
    assert f"no mirror at {tmp_path / 'nothing'}" in result.output


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ("<p>a</p><p>[s](javascript:1)</p>", None),  # inside a block: raw HTML to kramdown
        ("<table><tbody><tr><td>[t](javascript:2)</td></tr></tbody></table>", None),
        ("<p>a</p>tail [y](javascript:3)", "[y](javascript:3)"),
        ('<img src="http://x/a.png"> [r](javascript:4)', "[r](javascript:4)"),
        ('text *x*{: onclick="alert(5)"}', '{: onclick="alert(5)"}'),
        ("<b>x</b> [r]: javascript:6", "[r]: javascript:6"),
        ("plain text, no markup", None),
        ("<p>交易[点此]</p>", None),
    ],
)
def test_markdown_outside_html_blocks_is_found(body, found):
    loose = markdown_outside_html(body)
    if found is None:
        assert loose is None
    else:
        assert loose is not None and found in loose
