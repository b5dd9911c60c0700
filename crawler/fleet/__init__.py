"""A fleet of workers sharing one crawl through Redis (SPEC §8, ``REDIS_URL``).

Nothing here is imported unless ``REDIS_URL`` is set: :mod:`crawler.addons.fleet`
switches the fleet's components on and names them in the seams' settings
(``MIRROR_DEDUP_STORE``: :class:`~crawler.fleet.store.RedisDedupStore`,
``POLITENESS_LEASES``: :class:`~crawler.fleet.politeness.FleetHostLeases`, …).
The worker of a process lives in its :class:`crawler.process.MirrorProcess`.

- :mod:`~crawler.fleet.connection`: the Redis client, the key names, the URL without its password;
- :mod:`~crawler.fleet.worker`: this process as a worker: heartbeat, runs, held requests, recovery;
- :mod:`~crawler.fleet.scheduler`: scrapy-redis's scheduler, queue and dupefilter, made reliable;
- :mod:`~crawler.fleet.coordinator`: joins a feed's shared run, closes when the fleet is done;
- :mod:`~crawler.fleet.store`: the infoCode dedup (SPEC §4) in Redis;
- :mod:`~crawler.fleet.handoff` and :mod:`~crawler.fleet.writer`: posts handed through Redis
  to the host that holds the mirror (``MIRROR_WRITE = "redis"``, ``scrapy writer``);
- :mod:`~crawler.fleet.politeness`: per-host leases for the whole fleet;
- :mod:`~crawler.fleet.status`: what ``scrapy status`` shows of the fleet.
"""
