"""Keeps Python's cyclic garbage collector off what lives for the whole crawl.

A crawl allocates container objects fast (requests, deferreds, tasks, parsed
pages), so the collector runs often, and each full collection walks every
tracked object of the process, the start-up ones included: Scrapy, Twisted,
lxml, the catalog, and ~200,000 lists of pypinyin's phrase table that the
category slugs need. Profiled on a 5,000-article backfill, collection took
about a fifth of the crawl's CPU time.

At engine start this extension moves every object alive then into the
collector's permanent generation (:func:`gc.freeze`: they are still freed by
reference counting, only no longer walked), once per process, and raises the
youngest generation's threshold to ``MIRROR_GC_THRESHOLD`` allocations
(Python's default is 700), so collections come less often. 0 leaves the
collector as Python sets it.
"""

from __future__ import annotations

import gc
import logging

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.process import MirrorProcess, process_of

logger = logging.getLogger(__name__)


class CollectorTuning:
    def __init__(self, threshold: int, process: MirrorProcess):
        self.threshold = threshold
        self.process = process  # frozen once per process: what a later crawl leaves is collected

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CollectorTuning:
        threshold = crawler.settings.getint("MIRROR_GC_THRESHOLD")
        if threshold <= 0:
            raise NotConfigured("MIRROR_GC_THRESHOLD is 0")
        tuning = cls(threshold, process_of(crawler))
        crawler.signals.connect(tuning.engine_started, signal=signals.engine_started)
        return tuning

    def engine_started(self) -> None:
        if not self.process.gc_frozen:
            gc.freeze()
            self.process.gc_frozen = True
            logger.debug("Garbage collector: %d start-up objects frozen", gc.get_freeze_count())
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(self.threshold, gen1, gen2)
