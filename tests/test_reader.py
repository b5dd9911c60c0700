"""The reader API (crawler.mirror.reader) over real files: round trips, filters, a crawl."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.cleaning.cleaner import clean_digest
from crawler.mirror.archive import (
    OLD_POSTS_DIR,
    POSTS_DIR,
    FormatError,
    Post,
    category_page,
    read,
    render,
    write,
    yaml_dump_string,
    yaml_string,
)
from crawler.mirror.reader import ArchiveReader, as_record, parse_bound
from tests.conftest import DATA, Mirror, replica_feeds

TZ = ZoneInfo("Asia/Shanghai")
SEED = DATA / "seed" / "2022-02-20-NW202202202282281459.md"
ZONES = [ZoneInfo(z) for z in (
    "Asia/Shanghai", "UTC", "America/St_Johns", "Asia/Kathmandu", "Pacific/Kiritimati",
    "Pacific/Pago_Pago", "Europe/London",
)]  # fmt: skip

# Any text a file can hold (no lone surrogates); the hostile corners made likely.
HOSTILE = st.sampled_from([
    '"', "\\", "\n", "\r", "\r\n", "\t", "\x00", "\x07", "\x1b", "\x85", "\u2028",
    "\u2029", "\ufeff", "\ufffe", "\U0001f600", "---", "\n---\n", "{{", "}}", "{%",
    "%}", "<script>", "</p>", "<>", "\n\n", "\n\n<x>\n\n", "[a](b)", "#", ": ",
    "- ", "'", "&amp;", "昆明“引号”：", " ", "\u3000", "null", "~", "|", ">", "*",
])  # fmt: skip
TEXT = st.lists(
    st.one_of(HOSTILE, st.text(st.characters(exclude_categories=["Cs"]), max_size=8)),
    max_size=12,
).map("".join)
# An outlet is one line: it is the category page's title and a Markdown link label.
OUTLET = st.text(
    st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"], exclude_characters="\x85"),
    min_size=1,
    max_size=12,
)
CATEGORY = st.one_of(
    st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True),
    st.sampled_from(["no", "yes", "true", "null", "123", "0x1f", "1e3", "on", "21shiji"]),
)


@st.composite
def posts(draw) -> Post:
    zone = draw(st.sampled_from(ZONES))
    when = draw(st.datetimes(datetime(1901, 1, 1), datetime(2100, 1, 1)))
    info_code = draw(st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True))
    return Post(
        info_code=info_code,
        title=draw(TEXT),
        date=when.replace(microsecond=0, tzinfo=zone),
        category=draw(CATEGORY),
        outlet=draw(OUTLET),
        body=draw(TEXT),
        share_url="http://finews.zning.xyz/html_News/NewsShare.html?infoCode=" + info_code,
        # Rolling news (SPEC §3.1): a digest line, as the clean pipeline makes it.
        digest=draw(st.one_of(st.none(), TEXT.map(clean_digest))),
    )


@settings(
    max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(post=posts(), base=st.sampled_from(["", "//finews.withounder.com", "https://e.org/m/"]))
def test_read_of_write_is_the_post_for_hostile_titles_and_bodies(post, base):
    with tempfile.TemporaryDirectory() as tmp:
        path = write(tmp, post, base)
        back = read(path)
        assert back == post
        assert back.path == path and back.title == post.title and back.body == post.body
        assert back.date.utcoffset() == post.date.utcoffset()
        # The front matter alone, through a YAML parser, gives the same fields.
        text = path.read_bytes().decode("utf-8")
        meta = yaml.safe_load(text[4 : text.index("\n---\n", 3)])
        assert (meta["title"], meta["categories"], meta["tags"]) == (
            post.title,
            post.category,
            post.outlet + "新闻",
        )
        assert render(back, base) == text
        rolling = post.digest is not None
        page = yaml.safe_load(category_page(post.outlet, post.category, rolling)[4:-4])
        assert page == {
            "layout": "category",
            "title": post.outlet + "新闻",
            "category": post.category,
            **({"permalink": f"/{post.category}/"} if rolling else {}),
        }
        assert text.endswith(f"{post.category_url})｜[返回首页]({base.rstrip('/')}/)")
        [found] = ArchiveReader(tmp).posts()
        assert found == post and found.path == path


@settings(max_examples=1000, deadline=None, database=None)
@given(value=st.one_of(TEXT, st.text(st.characters(exclude_categories=["Cs"]))))
def test_yaml_strings_fast_path_writes_what_pyyaml_writes(value):
    assert yaml_string(value) == yaml_dump_string(value)
    assert yaml.safe_load(f"v: {yaml_string(value)}")["v"] == value


def make(
    info_code: str, when: datetime, category: str = "kunmingribao", outlet: str = "昆明日报"
) -> Post:
    return Post(
        info_code=info_code,
        title=f"标题 {info_code}",
        date=when,
        category=category,
        outlet=outlet,
        body=f"<p>正文 {info_code}</p>",
        share_url=f"http://finews.zning.xyz/html_News/NewsShare.html?infoCode={info_code}",
    )


@pytest.fixture
def archive(tmp_path: Path) -> tuple[Path, list[Post]]:
    base = datetime(2024, 3, 1, 0, 30, tzinfo=TZ)
    posts = [
        make("A1", base),  # 2024-02-29 16:30 UTC: file dated 03-01
        make("A2", base + timedelta(hours=12)),
        make("B1", base + timedelta(days=1), "chunchengwanbao", "春城晚报"),
        make(
            "B2",
            (base + timedelta(days=2)).astimezone(ZoneInfo("America/New_York")),
            "chunchengwanbao",
            "春城晚报",
        ),
        make("C1", base - timedelta(days=30)),
    ]
    for post in posts:
        write(tmp_path, post, "")
    # C1 is past the retention window: moved to old_post/, same name.
    (tmp_path / OLD_POSTS_DIR).mkdir()
    name = posts[-1].filename
    (tmp_path / POSTS_DIR / name).rename(tmp_path / OLD_POSTS_DIR / name)
    # Not posts: a write in flight, a note, a folder.
    (tmp_path / POSTS_DIR / ".2024-03-01-Z9.md.x1.tmp").write_text("---\npartial")
    (tmp_path / POSTS_DIR / "README.txt").write_text("notes")
    (tmp_path / POSTS_DIR / "2024-03-01-DIR.md").mkdir()
    return tmp_path, posts


def codes(posts) -> list[str]:
    return [p.info_code for p in posts]


def test_reader_yields_posts_of_both_folders_in_file_name_order(archive):
    root, posts = archive
    found = list(ArchiveReader(root).posts())
    assert codes(found) == ["C1", "A1", "A2", "B1", "B2"]
    assert found[0].path == root / OLD_POSTS_DIR / posts[-1].filename
    assert all(p.path is not None and p.path.parent.parent == root for p in found)
    assert {p.info_code: p for p in found} == {p.info_code: p for p in posts}
    assert codes(ArchiveReader(root).posts(folders=[POSTS_DIR])) == ["A1", "A2", "B1", "B2"]
    assert codes(ArchiveReader(root).posts(folders=[OLD_POSTS_DIR])) == ["C1"]
    assert len(ArchiveReader(root).files()) == 5


def test_reader_filters_by_category_and_half_open_time_range(archive):
    root, posts = archive
    reader = ArchiveReader(root)
    assert codes(reader.posts(category="chunchengwanbao")) == ["B1", "B2"]
    assert codes(reader.posts(category=["kunmingribao"])) == ["C1", "A1", "A2"]
    assert codes(reader.posts(category="nothing")) == []
    a2 = posts[1].date
    assert codes(reader.posts(since=a2)) == ["A2", "B1", "B2"]  # since is included
    assert codes(reader.posts(until=a2)) == ["C1", "A1"]  # until is not
    # Bounds in another zone mean the same instants.
    utc = a2.astimezone(timezone.utc)
    assert codes(reader.posts(since=utc, until=utc + timedelta(seconds=1))) == ["A2"]
    # B2 is written in New York time (file dated 03-02 there), 03-03 00:30 in GMT+8.
    day = parse_bound("2024-03-03", TZ)
    assert codes(reader.posts(since=day, until=parse_bound("2024-03-03", TZ, end=True))) == ["B2"]
    assert codes(reader.posts(category="kunmingribao", since=parse_bound("2024-01-31", TZ))) == [
        "C1",
        "A1",
        "A2",
    ]
    with pytest.raises(ValueError, match="aware"):
        list(reader.posts(since=datetime(2024, 3, 1)))


def test_reader_names_a_bad_file_or_hands_it_to_on_error(archive):
    root, _ = archive
    bad = root / POSTS_DIR / "2024-03-01-BAD.md"
    bad.write_text("---\ntitle: [unclosed\n---\nbody\n\n<x>\n\nfooter", "utf-8")
    with pytest.raises(FormatError, match=r"2024-03-01-BAD\.md: front matter is not valid YAML"):
        list(ArchiveReader(root).posts())
    (root / POSTS_DIR / "2024-03-02-GBK.md").write_bytes(SEED.read_text("utf-8").encode("gbk"))
    errors: list[FormatError] = []
    found = list(ArchiveReader(root).posts(on_error=errors.append))
    assert codes(found) == ["C1", "A1", "A2", "B1", "B2"]
    assert [str(e).split(": ", 1)[0] for e in errors] == [
        str(root / POSTS_DIR / "2024-03-01-BAD.md"),
        str(root / POSTS_DIR / "2024-03-02-GBK.md"),
    ]
    assert "not UTF-8" in str(errors[1])


def test_record_is_json_ready_with_a_relative_path(archive):
    root, _ = archive
    first = next(iter(ArchiveReader(root)))
    assert as_record(first, root) == {
        "infoCode": "C1",
        "title": "标题 C1",
        "date": "2024-01-31T00:30:00+08:00",
        "category": "kunmingribao",
        "outlet": "昆明日报",
        "body": "<p>正文 C1</p>",
        "share_url": "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=C1",
        "path": "old_post/2024-01-31-C1.md",
    }


def test_parse_bound_reads_dates_times_and_offsets():
    assert parse_bound("2022-02-20", TZ) == datetime(2022, 2, 20, tzinfo=TZ)
    assert parse_bound("2022-02-20", TZ, end=True) == datetime(2022, 2, 21, tzinfo=TZ)
    assert parse_bound("2022-02-20T14:30", TZ) == datetime(2022, 2, 20, 14, 30, tzinfo=TZ)
    assert parse_bound("2022-02-20 06:30:00+00:00", TZ) == datetime(2022, 2, 20, 14, 30, tzinfo=TZ)
    with pytest.raises(ValueError, match="not a date"):
        parse_bound("yesterday", TZ)


@pytest.fixture(scope="module")
def crawled(replica, tmp_path_factory) -> Mirror:
    mirror = Mirror(tmp_path_factory.mktemp("reader"), replica_feeds(replica, "kunmingribao"))
    result = mirror.scrapy("crawl", "kunmingribao")
    assert result.returncode == 0, result.output
    return mirror


def test_reader_reads_a_crawled_mirror_as_the_crawler_wrote_it(crawled, tmp_path):
    root = tmp_path / "m"
    shutil.copytree(crawled.dir, root)
    files = crawled.posts()
    found = list(ArchiveReader(root).posts())
    assert len(found) == len(files) >= 40
    by_code = {p.info_code: p for p in found}
    seed = by_code["NW202202202282281459"]
    assert seed.title == "昆明出台产业招商提质增效实施意见"
    assert seed.date == datetime(2022, 2, 20, 14, 29, 54, tzinfo=TZ)
    assert (seed.category, seed.outlet) == ("kunmingribao", "昆明日报")
    assert seed.share_url.endswith("infoCode=NW202202202282281459")
    assert render(seed, "//finews.withounder.com").encode() == SEED.read_bytes()
    for post in found:
        assert post.path is not None and post.path.read_bytes().decode() == render(
            post, "//finews.withounder.com"
        )
        assert post.date.tzinfo is not None
