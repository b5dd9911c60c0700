"""A fleet never silently mirrors nothing: a worker's folder against what Redis records.

Real ``redis-server``, real worker processes over the replica: one worker
mirrors a feed into its folder, then a worker on a fresh folder (another
host, a restored backup) starts on the same Redis.
"""

from __future__ import annotations

import pytest

from crawler.mirror.runlog import RunLog
from tests.conftest import Mirror, replica_feeds
from tests.fleet.conftest import finish, start_worker

pytestmark = pytest.mark.slow

FRESH = ("-s", "FLEET_RUN_GRACE=0")  # a run just ended does not stop the next one


def test_a_worker_on_a_folder_lacking_the_fleets_posts_refuses_or_reseeds(
    replica, redis_url, tmp_path
):
    catalog = replica_feeds(replica, "kunmingribao")
    (tmp_path / "one").mkdir()
    first = Mirror(tmp_path / "one", catalog)
    worker = start_worker(first, redis_url, "crawl", "kunmingribao", extra=FRESH)
    assert finish(worker) == 0, worker.output[-3000:]
    assert len(first.posts()) == 40

    (tmp_path / "two").mkdir()
    fresh = Mirror(tmp_path / "two", catalog)
    refused = start_worker(fresh, redis_url, "crawl", "kunmingribao", extra=FRESH)
    assert finish(refused) == 1, refused.output[-3000:]
    assert (
        f"error: mirror folder {fresh.dir} lacks 40 of the 40 posts Redis at redis://:***@"
    ) in refused.err, refused.err[-3000:]
    assert "(the folder holds 0)" in refused.err and "FLEET_RESEED=True" in refused.err
    assert "kunmingribao: 0 new, 0 known" in refused.out
    assert "FAILED: closed: mirror_folder_behind" in refused.out
    assert "Traceback" not in refused.output
    assert fresh.posts() == {}
    [run] = RunLog(fresh.dir).records()
    assert run["status"] == 1

    reseeded = start_worker(
        fresh, redis_url, "crawl", "kunmingribao", extra=(*FRESH, "-s", "FLEET_RESEED=True")
    )
    assert finish(reseeded) == 0, reseeded.output[-3000:]
    assert "FLEET_RESEED: mirror folder" in reseeded.err and "lacked 40 of the 40" in reseeded.err
    assert "kunmingribao: 40 new" in reseeded.out, reseeded.out
    assert {p.name for p in fresh.posts().values()} == {p.name for p in first.posts().values()}

    # The folder now holds what Redis records: the next worker starts as usual.
    again = start_worker(fresh, redis_url, "crawl", "kunmingribao", extra=FRESH)
    assert finish(again) == 0, again.output[-3000:]
    assert "lacks" not in again.err and "kunmingribao: 0 new" in again.out
