"""A fleet that cannot work says why in one line, and the run is recorded.

Real processes: ``scrapy`` with ``REDIS_URL`` naming a port nothing listens
on, and with the fleet's packages made unimportable in the child process.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from crawler.mirror.runlog import RunLog
from tests.conftest import replica_feeds
from tests.fleet.conftest import PASSWORD, fleet_args, free_port
from tests.utils.cmdline import scrapy_env

pytestmark = pytest.mark.slow

# Put first on the child's PYTHONPATH: redis and scrapy_redis cannot be imported.
BLOCK_FLEET_PACKAGES = """\
import sys


class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("redis", "scrapy_redis"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _Blocked())
"""


@pytest.mark.parametrize(
    "command", [["crawl", "kunmingribao"], ["crawlall"], ["status"], ["schedule", "--every", "1m"]]
)
def test_redis_url_without_the_fleet_packages_prints_the_install_hint_only(
    command, replica, mirror_factory, tmp_path
):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao"))
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(BLOCK_FLEET_PACKAGES)
    env = scrapy_env()
    env["PYTHONPATH"] = f"{shim}:{env['PYTHONPATH']}"
    # fmt: off
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", *command,
         *fleet_args(mirror, f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0")],
        cwd=mirror.root, env=env, capture_output=True, text=True, timeout=120,
    )
    # fmt: on
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "error: REDIS_URL is set but the fleet's packages are missing "
        "(No module named 'redis'): pip install 'news-mirror[fleet]'"
    ]
    assert not RunLog(mirror.dir).path.exists()


@pytest.mark.parametrize("command", [["crawl", "kunmingribao"], ["crawlall"]])
def test_redis_down_at_start_is_one_line_a_failed_feed_and_a_recorded_run(
    command, replica, mirror_factory
):
    mirror = mirror_factory(replica_feeds(replica, "kunmingribao", "yunnanwang"))
    port = free_port()  # nothing listens there
    url = f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", *command, *fleet_args(mirror, url)],
        cwd=mirror.root, env=scrapy_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-3000:]
    assert "Traceback" not in output and "never retrieved" not in output, output[-3000:]
    assert PASSWORD not in output
    unreachable = [line for line in output.splitlines() if "is unreachable" in line]
    assert unreachable == [
        f"error: Redis at redis://:***@127.0.0.1:{port}/0 is unreachable "
        f"(Error 111 connecting to 127.0.0.1:{port}. Connection refused.)"
    ], output[-3000:]
    feeds = command[1:] or ["kunmingribao", "yunnanwang"]
    for feed in feeds:
        assert (
            f"{feed}: 0 new" in proc.stdout and "FAILED: closed: redis_unavailable" in proc.stdout
        )

    [run] = RunLog(mirror.dir).records()
    assert run["command"] == command[0] and run["status"] == 1
    assert sorted(run["feeds"]) == sorted(feeds)
    assert {f["reason"] for f in run["feeds"].values()} == {"redis_unavailable"}
    status = mirror.scrapy("status")
    assert status.returncode == 1
    assert "closed: redis_unavailable" in status.stdout and "FAILING" in status.stdout


def test_a_callback_that_meets_a_lost_redis_ends_without_a_traceback():
    """Redis lost while a listing page is read (its claims): the page ends
    there, counted, instead of Scrapy's "Spider error" with a traceback."""
    from scrapy import Spider
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from crawler.fleet.connection import FleetUnavailable
    from crawler.fleet.coordinator import FleetCoordinator

    spider = type("feed", (Spider,), {"name": "feed"})
    crawler = get_crawler(spider, {"REDIS_URL": "redis://127.0.0.1:9/0"})
    coordinator = FleetCoordinator(crawler, worker=None)  # type: ignore[arg-type]
    page = HtmlResponse("http://127.0.0.1/list.html", body=b"<html></html>")
    lost = FleetUnavailable("Redis at redis://127.0.0.1:9/0 is unreachable")
    assert coordinator.process_spider_exception(page, lost) == []
    assert crawler.stats.get_value("mirror/feed/errors/redis_unavailable") == 1  # the feed's
    assert coordinator.process_spider_exception(page, ValueError("other")) is None
