from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from crawler.mirror.archive import FormatError, Post, category_page, parse, render, write_atomic
from tests.conftest import DATA

SEED = DATA / "seed" / "2022-02-20-NW202202202282281459.md"
TZ = ZoneInfo("Asia/Shanghai")


def seed_post() -> Post:
    return parse(SEED.read_text("utf-8"), str(SEED))


def test_seed_parses_and_renders_back_byte_for_byte():
    post = seed_post()
    assert post.info_code == "NW202202202282281459"
    assert post.title == "昆明出台产业招商提质增效实施意见"
    assert post.date == datetime(2022, 2, 20, 14, 29, 54, tzinfo=TZ)
    assert (post.category, post.outlet) == ("kunmingribao", "昆明日报")
    assert post.body.endswith('<p class="em_media">（文章来源：昆明日报）</p>')
    assert post.filename == SEED.name
    assert render(post, "//finews.withounder.com").encode() == SEED.read_bytes()


HOSTILE_TITLES = [
    'He said "yes"',
    "back\\slash \\n not a newline",
    "# not a comment",
    "key: value: more",
    "line one\nline two",
    "tab\there and \x07 bell",
    "\n---\nlayout: evil\n---\n",
    "{{ site.title }} {% include x %}",
    "'single' and \"double\"",
    "- a list? [no] {no}",
    "  leading and trailing  ",
    "@&*!|>%`",
    "昆明“引号”：冒号，逗号",
    "😀 emoji \u2028 line sep \ufeff bom",
]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_hostile_titles_round_trip_through_a_yaml_parser(title):
    post = Post(
        info_code="X1",
        title=title,
        date=datetime(2024, 5, 6, 7, 8, 9, tzinfo=TZ),
        category="kunmingribao",
        outlet="昆明日报",
        body="<p>x</p>",
        share_url="http://example.com/a?infoCode=X1",
    )
    text = render(post, "//m.example")
    front = text.split("\n---\n", 1)[0][4:]
    meta = yaml.safe_load(front)
    assert meta["title"] == title
    assert set(meta) == {"layout", "title", "date", "categories", "tags"}
    assert text.count("\n---\n") >= 1 and text.startswith('---\nlayout: post\ntitle: "')
    back = parse(text, "2024-05-06-X1.md")
    assert back == post


@pytest.mark.parametrize("outlet", ["昆明日报", "a: b", "#hash", "[x](javascript:alert(1))", "yes"])
def test_hostile_outlets_stay_in_their_fields(outlet):
    post = Post(
        info_code="X2",
        title="t",
        date=datetime(2024, 5, 6, tzinfo=TZ),
        category="c",
        outlet=outlet,
        body="<p>x</p>",
        share_url="http://e/x",
    )
    text = render(post, "")
    assert parse(text, "2024-05-06-X2.md") == post
    footer = text.rsplit("\n\n", 1)[1]
    assert "](javascript" not in footer.replace("\\]", "").replace("\\(", "")
    assert yaml.safe_load(category_page(outlet, "c").strip("-\n"))["title"] == f"{outlet}新闻"


def test_parse_rejects_what_is_not_a_post():
    with pytest.raises(FormatError, match=r"bad\.md: no front matter"):
        parse("hello", "bad.md")
    with pytest.raises(FormatError, match="lacks 'title'"):
        parse("---\nlayout: post\n---\nx", "x.md")


def test_write_atomic_makes_a_missing_folder_and_writes_the_exact_bytes(tmp_path):
    text = "---\ntitle: 昆明\n---\n" + "<p>正文 {{ x }}\r\n</p>\n" * 20_000  # > one write()
    path = tmp_path / "a" / "b" / "post.md"
    assert write_atomic(path, text) == path
    assert path.read_bytes() == text.encode("utf-8")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert write_atomic(path, "again\n") == path  # the folder is there now: replaced
    assert path.read_bytes() == b"again\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["post.md"], "no temporary file left"


def test_write_atomic_into_a_folder_that_cannot_be_made_raises_and_leaves_nothing(tmp_path):
    (tmp_path / "a").write_text("a file where the folder would go", "utf-8")
    with pytest.raises(OSError):
        write_atomic(tmp_path / "a" / "post.md", "text\n")
    with pytest.raises(UnicodeEncodeError):  # nothing half-written either
        write_atomic(tmp_path / "b" / "post.md", "lone \ud800 surrogate")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
