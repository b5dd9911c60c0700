"""Why a download failed, in the feed summary and the stats, under real loopback
conditions; and a body too large to keep.

A closed port refuses, ``nosuch.invalid`` does not resolve (RFC 2606: it never
will, and the lookup fails at once without a network), TLS spoken to a plain
HTTP server fails its handshake, and the hostile replica is slow, resets,
cuts answers short, sends more than ``DOWNLOAD_MAXSIZE`` and answers 503.
"""

from __future__ import annotations

import re
import socket

import pytest

from replica.hostile import FAULTS, SHARE
from tests.conftest import Mirror

LIMITS = ["-s", "DOWNLOAD_TIMEOUT=2", "-s", "DOWNLOAD_MAXSIZE=2000000", "-s", "RETRY_TIMES=0"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def summaries(stdout: str) -> dict[str, str]:
    return {
        line.split(":", 1)[0]: line
        for line in stdout.splitlines()
        if re.match(r"[a-z0-9]+: \d+ new", line)
    }


@pytest.fixture(scope="module")
def listings_failed(replica, tmp_path_factory):
    closed = closed_port()
    share = f"{replica.url}{SHARE}?infoCode="
    host = replica.url.split("://", 1)[1]
    feeds = {
        "fdns": ("http://nosuch.invalid/category/a.html",
                 "host name nosuch.invalid does not resolve (dns)"),
        "frefused": (f"http://127.0.0.1:{closed}/category/a.html",
                     f"connection refused by 127.0.0.1:{closed} (refused)"),
        "ftls": (f"https://{host}/category/kunmingribao.html",
                 f"TLS handshake with {host} failed (tls)"),
        "ftimeout": (f"{share}HX-slow", "no answer within DOWNLOAD_TIMEOUT (timeout)"),
        "freset": (f"{share}HX-reset", f"connection reset by {host} (reset)"),
        "ftoobig": (f"{share}HX-oversize", "answer larger than DOWNLOAD_MAXSIZE (too_big)"),
        "fstatus": (f"{share}HX-flaky", "HTTP 503"),
    }  # fmt: skip
    catalog = {
        "feeds": {
            name: {"outlet": f"报{k}", "start_urls": [url]}
            for k, (name, (url, _)) in enumerate(feeds.items())
        }
    }
    mirror = Mirror(tmp_path_factory.mktemp("failed"), catalog)
    result = mirror.scrapy("crawlall", *LIMITS)
    return result, {name: cause for name, (_, cause) in feeds.items()}


def test_a_feed_summary_names_why_its_listing_failed(listings_failed):
    result, causes = listings_failed
    assert result.returncode == 1, result.output
    lines = summaries(result.stdout)
    for feed, cause in causes.items():
        assert lines[feed].endswith(f"FAILED: no listing page could be read: {cause}"), lines[feed]


def test_an_unreadable_robots_txt_is_one_warning_not_a_traceback(listings_failed):
    result, _ = listings_failed
    assert "Traceback" not in result.output
    for _feed, host in (("fdns", "nosuch.invalid"), ("ftls", "127.0.0.1")):
        assert re.search(
            rf"WARNING: robots.txt of {re.escape(host)}\S* could not be read \(", result.stderr
        )


def test_an_unresolvable_host_fails_as_dns_not_after_a_timeout(listings_failed):
    """The lookup of nosuch.invalid fails at once, offline or not: it is counted
    as dns, and not as a timeout of DNS_TIMEOUT or DOWNLOAD_TIMEOUT."""
    result, _ = listings_failed
    log = result.stderr
    assert re.search(r"Listing page of feed fdns failed: dns: .*nosuch\.invalid", log), log
    assert "fdns" not in " ".join(x for x in log.splitlines() if "timeout" in x)


def crawl_faults(replica, root, *extra: str):
    catalog = {"feeds": {"faults": {
        "outlet": "恶意测试报", "start_urls": [f"{replica.url}/hostile/category/faults.html"],
    }}}  # fmt: skip
    mirror = Mirror(root, catalog)
    result = mirror.scrapy("crawl", "faults", *LIMITS, *extra)
    assert result.returncode == 0, result.output
    line = re.search(r"Feed summary: (faults: .*)", result.stderr)
    assert line, result.output
    return mirror, result, line[1]


@pytest.fixture(scope="module")
def faults(replica, tmp_path_factory):
    return crawl_faults(replica, tmp_path_factory.mktemp("faults"))


def test_article_download_errors_are_counted_under_stable_names(faults):
    _, result, line = faults
    errors = sorted(kind for kind in FAULTS.values() if kind and kind != "too_large")
    counts = ", ".join(f"{k} {errors.count(k)}" for k in sorted(set(errors)))
    assert f" {len(errors)} errors ({counts})," in line, line
    log = result.stderr
    for code, kind in FAULTS.items():
        if kind and kind != "too_large":
            shown = "HTTP 503" if kind == "http_503" else kind
            assert re.search(rf"Article {code} of feed faults failed: {shown}\b.* <http", log), code
    assert "Error" not in line and "Failure" not in line


def test_a_body_over_the_limit_is_dropped_as_too_large_with_a_log_line(faults, replica, tmp_path):
    """MIRROR_MAX_BODY_BYTES (1 MB of cleaned HTML): the replica's 1.3 MB body
    is dropped, named in the log with its size; raised, the limit lets it in."""
    mirror, result, line = faults
    assert "2 new, 0 known, 1 dropped (too_large 1)," in line, line
    assert re.search(
        r"Dropped article HX-huge-body of feed faults: too_large: 13\d{5} bytes once cleaned, "
        r"over MIRROR_MAX_BODY_BYTES 1048576 <http://127\.0\.0\.1:\d+/\S+HX-huge-body>",
        result.stderr,
    ), result.stderr
    assert not [name for name in mirror.posts() if "HX-huge-body" in name]

    raised, _, line = crawl_faults(replica, tmp_path, "-s", "MIRROR_MAX_BODY_BYTES=2000000")
    assert "3 new, 0 known, 0 dropped," in line, line
    (post,) = [path for name, path in raised.posts().items() if "HX-huge-body" in name]
    assert 1_300_000 < len(raised.read(post).body.encode()) <= 2_000_000
