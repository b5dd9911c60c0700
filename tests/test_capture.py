"""Raw capture and rebuild (SPEC §11): real crawls of the replica with
``MIRROR_CAPTURE``, the WARC files read back with warcio, ``scrapy rebuild``
and ``probe --from-capture`` counted at the replica."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import inspect
import io
import re
import shutil
import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.cleaning import eastmoney as eastmoney_rules
from crawler.cleaning.cleaner import cleaner_version
from crawler.cleaning.rules import rules_digest
from crawler.mirror.capture import (
    CaptureError,
    CaptureWriter,
    Exchange,
    ProvenanceLog,
    RecordRef,
    capture_dir,
    check_file,
    exchange_of,
    payload_digest,
    read_exchange,
    read_provenance,
    recover,
)
from crawler.mirror.revisions import record, revision_files, versions
from tests.conftest import FAST, Mirror, ReplicaServer, replica_feeds
from tests.utils.cmdline import popen_scrapy

CAPTURE = ["-s", "MIRROR_CAPTURE=True"]
# HTML pages, HTML pages in GBK, a JSON list API with a content API.
FEEDS = ("kunmingribao", "chunchengwanbao", "yunnanwang")
T0 = datetime(2026, 1, 1, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SEED = "NW202202202282281459"  # the replica's first article of kunmingribao
REVISED_TITLE = "昆明出台产业招商提质增效实施意见（更正）"
REVISED_BODY = "<p>昆明市出台实施意见。</p><p>更正：新增企业120家。</p>"


def requests_made(replica: ReplicaServer) -> int:
    return sum(replica.stats()["by_kind"].values())


def records_in(path: Path) -> int:
    """The WARC records begun in ``path`` (the last one maybe cut short)."""
    begun = 0
    with contextlib.suppress(Exception):  # gone, or cut short where it ends
        for record in ArchiveIterator(io.BytesIO(path.read_bytes())):
            record.content_stream().read()
            begun += 1
    return begun


def snapshot(mirror) -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in mirror.posts().items()}


@pytest.fixture(scope="module")
def quiet_replica():
    server = ReplicaServer("--no-faults")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def captured_once(quiet_replica, tmp_path_factory):
    """The three feeds crawled with the capture on, once for the module."""
    mirror = Mirror(tmp_path_factory.mktemp("captured"), replica_feeds(quiet_replica, *FEEDS))
    result = mirror.scrapy("crawlall", *CAPTURE)
    assert result.returncode == 0, result.output
    assert "3 feeds, 120 new posts" in result.stdout
    return mirror


@pytest.fixture
def captured(captured_once, quiet_replica, tmp_path):
    """A copy of that crawl's mirror, files and times as the crawl left them, for
    one test to change: nothing in a mirror names the folder it is in."""
    shutil.copytree(captured_once.root, tmp_path / "captured", symlinks=True)
    return Mirror(tmp_path / "captured", replica_feeds(quiet_replica, *FEEDS))


def test_posts_deleted_are_rebuilt_byte_for_byte_from_the_capture_alone(captured, quiet_replica):
    mirror = captured
    crawled = snapshot(mirror)
    assert len(crawled) == 120

    # Right after the crawl: nothing changes, nothing is requested.
    quiet_replica.reset()
    result = mirror.scrapy("rebuild")
    assert result.returncode == 0, result.output
    assert "120 captured posts re-derived: 120 unchanged, 0 rewritten, 0 restored" in result.stdout
    assert snapshot(mirror) == crawled
    assert requests_made(quiet_replica) == 0

    for folder in ("_posts", "old_post"):
        shutil.rmtree(mirror.dir / folder, ignore_errors=True)
    result = mirror.scrapy("rebuild")
    assert result.returncode == 0, result.output
    assert "0 unchanged, 0 rewritten, 120 restored" in result.stdout
    assert requests_made(quiet_replica) == 0, "rebuilt from the capture alone"
    rebuilt = {p.name: p.read_bytes() for p in (mirror.dir / "_posts").glob("*.md")}
    assert rebuilt == crawled, "every post byte for byte as crawled"

    result = mirror.scrapy("verify", "--capture")
    assert result.returncode == 0, result.output
    assert "(120 backed by their capture): no problems" in result.stdout


def test_a_gbk_page_is_captured_as_sent_and_rebuilt_to_the_same_post(captured, quiet_replica):
    mirror = captured
    provenance = read_provenance(mirror.dir)
    gbk = []
    for code, line in provenance.items():
        if line["feed"] != "chunchengwanbao":
            continue
        (article,) = [r for r in line["records"] if r["role"] == "article"]
        with open(capture_dir(mirror.dir) / article["file"], "rb") as f:
            f.seek(article["offset"])
            record = next(iter(ArchiveIterator(f)))
            assert record.rec_headers.get_header("WARC-Record-ID") == article["id"]
            body = record.raw_stream.read()
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            gbk.append((code, body))
    assert gbk, "the capture keeps the GBK bytes as the replica sent them"
    code, body = gbk[0]
    post = next(p for n, p in mirror.posts().items() if code in n)
    title = mirror.read(post).title
    assert title.encode("gb18030") in body

    before = post.read_bytes()
    post.unlink()
    quiet_replica.reset()
    result = mirror.scrapy("rebuild", "--feeds", "chunchengwanbao")
    assert result.returncode == 0, result.output
    assert "39 unchanged, 0 rewritten, 1 restored" in result.stdout
    assert post.read_bytes() == before
    assert requests_made(quiet_replica) == 0


def test_a_changed_cleaning_rule_rewrites_exactly_the_posts_it_touches(captured, quiet_replica):
    mirror = captured
    crawled = snapshot(mirror)
    with_table = {n for n, text in crawled.items() if b"<table>" in text}
    kunming = {n for n in crawled if "NWKMRB" in n or "NW2022" in n}
    affected = with_table & kunming
    assert 0 < len(affected) < len(kunming), "the rule touches some posts of the feed, not all"

    catalog = replica_feeds(quiet_replica, *FEEDS, kunmingribao={"drop": ["table.data-table"]})
    mirror.write_catalog(catalog)
    quiet_replica.reset()
    result = mirror.scrapy("rebuild")
    assert result.returncode == 0, result.output
    assert f"{len(affected)} rewritten, 0 restored" in result.stdout
    assert f"Changed because of: drop table.data-table {len(affected)}" in result.stdout
    after = snapshot(mirror)
    changed = {n for n in crawled if after[n] != crawled[n]}
    assert changed == affected
    assert all(b"<table>" not in after[n] for n in affected)
    assert requests_made(quiet_replica) == 0
    # Revisits are on (MIRROR_REVISIT's default): each version replaced is kept.
    assert f"kept as revisions made by this rebuild: {len(affected)}" in result.stdout
    posts = mirror.posts()
    for n in crawled:
        kept = versions(mirror.dir, n[11:-3], posts[n])
        assert [p.read_bytes() for p in kept] == ([crawled[n]] if n in affected else [])
    result = mirror.scrapy("verify", "--capture")
    assert result.returncode == 0, result.output

    # The rule taken out again, revisits off: the same posts come back as they
    # were crawled, and no other revision is kept.
    mirror.write_catalog(replica_feeds(quiet_replica, *FEEDS))
    result = mirror.scrapy("rebuild", "--feeds", "kunmingribao", "-s", "MIRROR_REVISIT=")
    assert result.returncode == 0, result.output
    assert f"Changed because of: drop table.data-table removed {len(affected)}" in result.stdout
    assert "kept as revisions" not in result.stdout
    assert snapshot(mirror) == crawled
    assert all(len(revision_files(mirror.dir, n[11:-3])) == 1 for n in affected)


def test_the_cleaner_version_covers_the_feeds_source_rules():
    eastmoney = cleaner_version(("p.x",), "crawler.cleaning.eastmoney")
    assert eastmoney == cleaner_version(["p.x"], "crawler.cleaning.eastmoney")
    assert eastmoney.split("+")[:2] == cleaner_version(("p.x",), "none").split("+")[:2]
    assert eastmoney != cleaner_version(("p.x",), "none"), "another rules module"
    assert eastmoney != cleaner_version(("p.y",), "crawler.cleaning.eastmoney")
    # The rules module's text is in it: a module of the same name, edited, is another version.
    assert (
        rules_digest("crawler.cleaning.eastmoney")
        == hashlib.sha256(
            b"crawler.cleaning.eastmoney\n" + inspect.getsource(eastmoney_rules).encode()
        ).hexdigest()[:8]
    )


def test_other_source_rules_rewrite_the_posts_of_their_feed_and_say_so(captured, quiet_replica):
    mirror = captured
    crawled = snapshot(mirror)
    kunming = {n for n in crawled if "NWKMRB" in n or "NW2022" in n}
    assert 0 < len(kunming) < len(crawled)
    catalog = replica_feeds(quiet_replica, *FEEDS, kunmingribao={"cleaning": "none"})
    mirror.write_catalog(catalog)
    quiet_replica.reset()
    result = mirror.scrapy("rebuild")
    assert result.returncode == 0, result.output
    after = snapshot(mirror)
    # The eastmoney rules touch every post of the replica (its outlet line's class).
    assert {n for n in crawled if after[n] != crawled[n]} == kunming
    assert f"{len(kunming)} rewritten, 0 restored" in result.stdout
    assert f"Changed because of: cleaning none {len(kunming)}" in result.stdout
    assert requests_made(quiet_replica) == 0

    # The shipped feeds' rules named again: the posts come back as they were crawled.
    mirror.write_catalog(replica_feeds(quiet_replica, *FEEDS))
    result = mirror.scrapy("rebuild")
    assert result.returncode == 0, result.output
    reason = f"Changed because of: cleaning crawler.cleaning.eastmoney {len(kunming)}"
    assert reason in result.stdout
    assert snapshot(mirror) == crawled


def test_a_post_revised_since_its_capture_is_not_undone_by_a_rebuild(captured, quiet_replica):
    mirror = captured
    crawled = snapshot(mirror)
    name = sorted(crawled)[0]
    post = mirror.posts()[name]
    code = name[11:-3]
    revised = crawled[name].decode("utf-8").replace("\n---\n", "\n---\n<p>更正</p>", 1)
    # What a revisit does when the source corrects the article (crawler.pipelines.revise).
    record(post, code, revised, datetime(2026, 12, 1, tzinfo=timezone.utc))
    quiet_replica.reset()
    result = mirror.scrapy("rebuild")
    assert result.returncode == 0, result.output
    assert (
        "119 unchanged, 0 rewritten, 0 restored, 1 kept as revised without a captured response"
        in result.stdout
    )
    assert post.read_text("utf-8") == revised
    assert requests_made(quiet_replica) == 0
    result = mirror.scrapy("verify", "--capture")
    assert result.returncode == 1
    assert f"{name}: revised from a response its capture does not hold" in result.stdout


def test_a_post_revised_by_a_revisit_is_captured_and_rebuilt_byte_for_byte(tmp_path):
    """The revisit's response is captured as the post's revision record: a
    rebuild gives the revised post (first fetch's date, revisit's title and
    body) from the capture alone."""
    with ReplicaServer("--articles", "3", "--no-faults") as replica:
        mirror = Mirror(tmp_path, replica_feeds(replica, "kunmingribao"))

        def crawl(at: timedelta) -> str:
            replica.reset()
            result = mirror.scrapy(
                "crawl", "kunmingribao", *CAPTURE, "-s", "MIRROR_REVISIT=1h,24h",
                "-s", f"MIRROR_NOW={(T0 + at).isoformat()}",
            )  # fmt: skip
            assert result.returncode == 0, result.output[-3000:]
            return result.stdout.strip()

        crawl(timedelta(0))
        first = snapshot(mirror)
        replica.revise(SEED, title=REVISED_TITLE, body=REVISED_BODY)
        assert crawl(timedelta(hours=1)).endswith("3 revisited, 1 revision")
        crawled = snapshot(mirror)
        name = next(n for n in crawled if SEED in n)
        revised = mirror.read(mirror.posts()[name])
        assert revised.title == REVISED_TITLE and "120" in revised.body
        assert [n for n in crawled if crawled[n] != first[n]] == [name]

        line = read_provenance(mirror.dir)[SEED]
        assert sorted(r["role"] for r in line["records"]) == ["article", "listing", "revision"]
        assert line["revisions"] == 1
        (revision,) = [r for r in line["records"] if r["role"] == "revision"]
        assert REVISED_TITLE.encode() in read_exchange(mirror.dir, revision).body

        # Right after the crawl: nothing changes, nothing is requested.
        replica.reset()
        result = mirror.scrapy("rebuild")
        assert result.returncode == 0, result.output
        assert "3 captured posts re-derived: 3 unchanged, 0 rewritten, 0 restored" in result.stdout
        assert snapshot(mirror) == crawled
        assert requests_made(replica) == 0
        probed = mirror.scrapy("probe", "kunmingribao", "--from-capture", SEED)
        assert probed.returncode == 0, probed.output
        assert f"revision: {revision['file']} at {revision['offset']}" in probed.stdout
        assert "The post in _posts/ is the same, byte for byte" in probed.stdout

        shutil.rmtree(mirror.dir / "_posts")
        result = mirror.scrapy("rebuild")
        assert result.returncode == 0, result.output
        assert "0 unchanged, 0 rewritten, 3 restored" in result.stdout
        assert snapshot(mirror) == crawled, "the revised post byte for byte as revised"
        assert requests_made(replica) == 0

        result = mirror.scrapy("verify", "--capture")
        assert result.returncode == 0, result.output
        assert "(3 backed by their capture): no problems" in result.stdout


def test_the_warc_files_read_back_with_warcio_and_their_digests_hold(captured):
    mirror = captured
    files = sorted(capture_dir(mirror.dir).glob("*.warc.gz"))
    assert len(files) == 1, "one file per crawler: crawlall's three feeds in one"
    assert not list(capture_dir(mirror.dir).glob("*.open")), "every file closed"
    ids: dict[str, tuple[str, int]] = {}
    for path in files:
        with open(path, "rb") as f:
            records = ArchiveIterator(f, check_digests=True)
            kinds = []
            for record in records:
                while record.content_stream().read(1 << 16):
                    pass
                assert record.rec_headers.protocol == "WARC/1.1"
                assert record.digest_checker.passed is not False, record.digest_checker.problems
                kinds.append(record.rec_type)
                rid = record.rec_headers.get_header("WARC-Record-ID")
                ids[rid] = (path.name, records.get_record_offset())
                if record.rec_type == "response":
                    assert record.rec_headers.get_header("WARC-Payload-Digest")
                    assert record.http_headers.get_statuscode() == "200"
                if record.rec_type == "request":
                    assert record.rec_headers.get_header("WARC-Concurrent-To") in ids
        assert kinds[0] == "warcinfo"
        assert kinds[1:] == ["response", "request"] * ((len(kinds) - 1) // 2)
    # Each post's provenance names a response record where it is.
    for line in read_provenance(mirror.dir).values():
        roles = {r["role"] for r in line["records"]}
        assert roles == {"article", "listing"}
        for ref in line["records"]:
            assert ids[ref["id"]] == (ref["file"], ref["offset"])
    # And warcio's own checker agrees.
    check = subprocess.run(
        ["warcio", "check", *map(str, files)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_probe_from_capture_shows_the_article_as_made_today(captured, quiet_replica):
    mirror = captured
    code = next(
        c for c, line in read_provenance(mirror.dir).items() if line["feed"] == "yunnanwang"
    )
    quiet_replica.reset()
    result = mirror.scrapy("probe", "yunnanwang", "--from-capture", code)
    assert result.returncode == 0, result.output
    assert f"article {code} from the capture" in result.stdout
    assert "the same, byte for byte" in result.stdout
    assert requests_made(quiet_replica) == 0
    later = mirror.scrapy("rebuild", "--since", "2999-01-01")
    assert "0 captured posts re-derived" in later.stdout, later.output
    bad = mirror.scrapy("rebuild", "--since", "yesterday")
    assert bad.returncode == 2 and "--since 'yesterday' is not a day" in bad.stderr
    status = mirror.scrapy("status")
    assert "Capture: 1 WARC file," in status.stdout, status.output
    missing = mirror.scrapy("probe", "yunnanwang", "--from-capture", "NOSUCHCODE")
    assert missing.returncode == 1
    assert "the capture has no article NOSUCHCODE" in missing.stdout


def test_without_capture_nothing_is_kept(quiet_replica, mirror_factory):
    mirror = mirror_factory(replica_feeds(quiet_replica, "kunmingribao"))
    assert mirror.scrapy("crawl", "kunmingribao").returncode == 0
    assert not capture_dir(mirror.dir).exists()
    result = mirror.scrapy("verify", "--capture")
    assert result.returncode == 1
    assert "no capture recorded for it" in result.stdout


@pytest.mark.slow
def test_sigkill_while_a_capture_file_is_open_loses_no_closed_file_and_says_what_it_lost(
    tmp_path, mirror_factory
):
    with ReplicaServer("--no-faults", "--articles", "300", "--latency-ms", "30") as replica:
        mirror = mirror_factory(
            replica_feeds(replica, "kunmingribao", kunmingribao={"max_pages": 30})
        )
        args = [
            "crawl", "kunmingribao", *CAPTURE, "-s", f"MIRROR_DIR={mirror.dir}",
            "-s", f"NEWS_FEEDS_FILE={mirror.catalog_path}", *FAST,
            # Small files: some are closed (renamed into place) before the kill.
            "-s", "MIRROR_CAPTURE_MAX_BYTES=20000",
        ]  # fmt: skip
        proc = popen_scrapy(*args, cwd=mirror.root)
        folder = capture_dir(mirror.dir)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            opened = list(folder.glob("*.open"))
            # Killed once the open file holds a whole record past its warcinfo
            # (a third one begun): recovery has records to keep.
            if len(list(folder.glob("*.warc.gz"))) >= 2 and opened and records_in(opened[0]) >= 3:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the crawl ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        left_open = list(folder.glob("*.open"))
        assert len(left_open) == 1
        # What the kill left (the writer may have begun a new file since that look).
        begun = records_in(left_open[0])
        closed = sorted(folder.glob("*.warc.gz"))
        before = {p.name: p.read_bytes() for p in closed}

        # The next crawl keeps the open file's complete records and closes it.
        result = mirror.scrapy("crawl", "kunmingribao", *CAPTURE)
        assert result.returncode == 0, result.output
        assert "was left open by a crash" in result.stderr
        assert not list(folder.glob("*.open"))
        for name, data in before.items():
            assert (folder / name).read_bytes() == data, "a closed file is never touched"
        recovered = folder / left_open[0].name.removesuffix(".open")
        if begun >= 3:
            assert recovered.exists(), "its complete records kept, in a closed file"
        elif begun <= 1:
            assert not recovered.exists(), "a file of nothing but its warcinfo is removed"
        assert all(check_file(p) == [] for p in folder.glob("*.warc.gz"))

    result = mirror.scrapy("verify", "--capture")
    posts = mirror.posts()
    assert len(posts) == 300
    # Every post is backed by its capture, or verify names it: none lost silently.
    lines = [x for x in result.stdout.splitlines() if x.startswith(str(mirror.dir))]
    unbacked = {x.split(":", 1)[0].rsplit("/", 1)[-1] for x in lines}
    found = re.search(r"\((\d+) backed by their capture\)", result.output)
    assert found, result.output
    assert int(found[1]) + len(unbacked & set(posts)) == len(posts), result.output
    assert all("no capture recorded" in x or "capture is lost" in x for x in lines), result.output


# --- components ---------------------------------------------------------------


def gzip_exchange(text: str) -> Exchange:
    from scrapy.http import HtmlResponse, Request

    request = Request("http://example.com/a?infoCode=NW1", headers={"Accept-Encoding": "gzip"})
    response = HtmlResponse(
        "http://example.com/a?infoCode=NW1",
        status=200,
        headers={
            "Content-Type": "text/html; charset=gbk",
            "Content-Encoding": "gzip",
            "Transfer-Encoding": "chunked",
        },
        body=gzip.compress(text.encode("gbk")),
        request=request,
    )
    return exchange_of(request, response)


def test_the_capture_middleware_sees_the_final_response_before_it_is_decompressed():
    from scrapy.settings import Settings

    order = Settings()
    order.setmodule("crawler.settings")
    middlewares = {
        **order.getdict("DOWNLOADER_MIDDLEWARES_BASE"),
        **order.getdict("DOWNLOADER_MIDDLEWARES"),
    }
    compression = "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware"
    redirect = "scrapy.downloadermiddlewares.redirect.RedirectMiddleware"
    capture = middlewares["crawler.middlewares.capture.CaptureDownloaderMiddleware"]
    # process_response runs from the highest order down: after redirects, before gunzip.
    assert middlewares[compression] < capture < middlewares[redirect]
    # The charset is chosen once the body is decompressed (Scrapy resets the
    # encoding of a response it decompresses), in a crawl as in a rebuild.
    assert middlewares["crawler.middlewares.encoding.EncodingMiddleware"] < middlewares[compression]


def test_a_gzip_body_is_kept_as_received_and_replayed_decompressed(tmp_path):
    from scrapy.settings import Settings

    from crawler.ops.rebuild import Replayer
    from crawler.source.catalog import Feed

    page = "<html><body><h1>春城花卉出口再创新高</h1></body></html>"
    exchange = gzip_exchange(page)
    writer = CaptureWriter(tmp_path, "feed", max_bytes=0)
    (ref,) = writer.write([("article", exchange)])
    writer.close()
    assert ref.digest == payload_digest(exchange.body)
    back = read_exchange(tmp_path, ref.as_dict())
    assert back.body == exchange.body, "the body as received: still gzip"
    assert ("Content-Encoding", "gzip") in back.headers
    assert not any(k.lower() == "transfer-encoding" for k, _ in back.headers)
    settings = Settings()
    settings.setmodule("crawler.settings")
    settings.set("MIRROR_DIR", str(tmp_path))
    response = Replayer(settings, tmp_path).response(back, Feed("f", "o", "c"))
    assert response.css("h1::text").get() == "春城花卉出口再创新高"


def test_a_file_left_open_by_a_crash_keeps_its_whole_records(tmp_path):
    writer = CaptureWriter(tmp_path, "feed", max_bytes=0, durable=False)
    refs = [writer.write([("article", gzip_exchange(f"<p>{i}</p>"))])[0] for i in range(3)]
    assert writer.file is not None
    writer.file.flush()
    path = capture_dir(tmp_path) / (writer.name + ".open")
    size = path.stat().st_size
    writer.file.close()
    with open(path, "r+b") as f:
        f.truncate(size - 40)  # the last record torn
    assert recover(path, durable=False) == 2
    closed = capture_dir(tmp_path) / writer.name
    assert not path.exists() and check_file(closed) == []
    for ref in refs[:2]:
        assert read_exchange(tmp_path, ref.as_dict()).body
    with pytest.raises(CaptureError, match=r"ends before|cannot be read"):
        read_exchange(tmp_path, refs[2].as_dict())


def test_a_revisits_provenance_line_adds_its_record_to_the_first_fetchs(tmp_path):
    log = ProvenanceLog(tmp_path, durable=False)

    def ref(role: str, n: int) -> RecordRef:
        return RecordRef(role, f"f{n}.warc.gz", n, f"<urn:uuid:{n}>", f"sha1:{n}", "http://x/")

    first = [ref("article", 1), ref("listing", 2)]
    log.append("NW1", "feed", "a.md", "1", (), first)
    log.append("NW1", "feed", "a.md", "2", ("p.x",), [ref("revision", 3)], revisions=1)
    log.append("NW1", "feed", "a.md", "2", ("p.x",), [ref("revision", 4)], revisions=2)
    log.append("NW2", "feed", "b.md", "1", (), [ref("revision", 5)], revisions=1)
    log.close()
    got = read_provenance(tmp_path)
    assert [r["offset"] for r in got["NW1"]["records"]] == [1, 2, 4]  # the newest revision
    assert (got["NW1"]["cleaner"], got["NW1"]["drop"], got["NW1"]["revisions"]) == ("2", ["p.x"], 2)
    assert [r["role"] for r in got["NW2"]["records"]] == ["revision"]  # first fetch not captured

    # A later line with an article record (a rebuild's, or a new first fetch) stands alone.
    log = ProvenanceLog(tmp_path, durable=False)
    log.append("NW1", "feed", "a.md", "3", (), [ref("article", 6)])
    log.close()
    assert [r["offset"] for r in read_provenance(tmp_path)["NW1"]["records"]] == [6]
