"""A small replica of the news source, served on loopback.

The README's demo, the tests and the benchmarks crawl it instead of the real
site. It serves the real source's endpoints that the shipped catalog
(``crawler/feeds.yaml``) reads (:mod:`crawler.replica.webapi`), and the feeds
of its own catalog (``crawler/replica/catalog.yaml``: HTML listings, GBK
pages, other JSON shapes), all at the source's paths and query strings, so
that :func:`replica_catalog` (a catalog with each URL's host swapped for the
replica's) crawls it. ``python -m
crawler.replica`` runs one from the command line.
"""

from __future__ import annotations

from crawler.replica.content import SEED_INFO_CODE
from crawler.replica.feeds import replica_catalog, write_replica_catalog
from crawler.replica.site import Replica

__all__ = ["SEED_INFO_CODE", "Replica", "replica_catalog", "write_replica_catalog"]
