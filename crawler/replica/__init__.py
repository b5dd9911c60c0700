"""A small replica of the news source, served on loopback.

The README's demo, the tests and the benchmarks crawl it instead of the real
site: it serves every feed of the shipped catalog (``crawler/feeds.yaml``) at
the same paths, so that :func:`replica_catalog` (the catalog with the
source's host swapped for the replica's) crawls it. ``python -m
crawler.replica`` runs one from the command line.
"""

from __future__ import annotations

from crawler.replica.content import SEED_INFO_CODE
from crawler.replica.feeds import replica_catalog, write_replica_catalog
from crawler.replica.site import Replica

__all__ = ["SEED_INFO_CODE", "Replica", "replica_catalog", "write_replica_catalog"]
