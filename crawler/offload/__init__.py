"""Work that does not need the reactor, done beside it in worker processes.

A backfill's crawl is bound by the CPU of its one process: Scrapy's own
handling of each response, then the article's extraction, cleaning and
writing, all on the reactor's thread. Extraction (parsel over the article
page), cleaning (lxml and nh3 over its body) and the post's rendering into a
temporary file (and its flush to the disk) are functions of their inputs, so
on a machine with more than one core they run in worker processes
(``MIRROR_WORKERS``) while the reactor goes on with the next responses; the
claims, counters, dedup store and the renaming of each post file into place
stay with the crawl, so nothing else changes (the posts are byte for byte the
same).

- :mod:`~crawler.offload.pool`: the workers of a process and the calls sent to them;
- :mod:`~crawler.offload.child`: a worker process;
- :mod:`~crawler.offload.jobs`: what they run.
"""
