"""Every path under a mirror's state folder, ``<MIRROR_DIR>/.mirror/``, named once.

The posts themselves (``_posts/``, ``old_post/``, ``category/``) are the
archive format's and named in :mod:`crawler.mirror.archive`; what the mirror
keeps for itself lives here:

- ``index``, ``index.lock``: the dedup index and its lock (:mod:`crawler.mirror.dedup`);
- ``walks/<feed>``, ``walked/<feed>``: a listing walk under way, and done once;
- ``run.lock``: the run lock (:mod:`crawler.mirror.lock`);
- ``runs.jsonl``, ``runs.lock``: the run history and its lock (:mod:`crawler.mirror.runlog`);
- ``backoff.json``: back-off of failing feeds (:mod:`crawler.mirror.backoff`);
- ``site.json``: the Jekyll files installed, with their hashes (:mod:`crawler.mirror.jekyll`);
- ``logs/crawl.log``: the run's log file (:mod:`crawler.ops.logs`);
- ``capture/``: the raw capture's WARC files and ``provenance-<host>.jsonl``
  (:mod:`crawler.mirror.capture`);
- ``replica-feeds.yaml``: the catalog ``scrapy demo`` crawls;
- ``images/pending-<feed>.jsonl``: images to fetch again (:mod:`crawler.pipelines.images`);
- ``revisits.jsonl``, ``revisits.lock``: the revisit schedule (:mod:`crawler.mirror.revisits`).
"""

from __future__ import annotations

STATE_DIR = ".mirror"

INDEX_FILE = "index"
INDEX_LOCK_FILE = "index.lock"
WALKS_DIR = "walks"
WALKED_DIR = "walked"
LOCK_FILE = "run.lock"
RUNS_FILE = "runs.jsonl"
RUNS_LOCK_FILE = "runs.lock"
BACKOFF_FILE = "backoff.json"
SITE_MANIFEST_FILE = "site.json"
LOGS_DIR = "logs"
LOG_NAME = "crawl.log"
DEMO_CATALOG_FILE = "replica-feeds.yaml"
CAPTURE_DIR = "capture"
PROVENANCE_PREFIX = "provenance-"
IMAGES_PENDING_DIR = "images"  # images/pending-<feed>.jsonl: to fetch again (MIRROR_IMAGES=local)
REVISITS_FILE = "revisits.jsonl"
REVISITS_LOCK_FILE = "revisits.lock"
