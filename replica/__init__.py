"""A small replica of the news source, served on loopback.

The README's demo, the tests and the benchmarks crawl it instead of the real
site. It serves the real source's endpoints that the shipped catalog
(``crawler/source/feeds.yaml``) reads (:mod:`replica.webapi`), and the feeds
of its own catalog (``replica/catalog.yaml``: HTML listings, GBK
pages, other JSON shapes), all at the source's paths and query strings, so
that :func:`replica_catalog` (a catalog with each URL's host swapped for the
replica's) crawls it. ``python -m
replica`` runs one from the command line.
"""

from __future__ import annotations

from replica.content import SEED_INFO_CODE
from replica.feeds import replica_catalog, write_replica_catalog
from replica.site import Replica

__all__ = ["SEED_INFO_CODE", "Replica", "replica_catalog", "write_replica_catalog"]
