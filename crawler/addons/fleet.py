"""Makes a crawl a worker of a fleet when ``REDIS_URL`` is set (SPEC §8).

Without ``REDIS_URL`` the add-on switches itself off and nothing imports
Redis. With it, every crawler of the process gets:

- ``SCHEDULER``: :class:`crawler.fleet.scheduler.FleetScheduler` (scrapy-redis's,
  made reliable) over :class:`~crawler.fleet.scheduler.ReliableQueue`, with
  :class:`~crawler.fleet.scheduler.RunDupeFilter` as ``DUPEFILTER_CLASS``;
  ``SCHEDULER_PERSIST``: the queue is the fleet's; ``SCHEDULER_SERIALIZER``:
  :mod:`crawler.fleet.serializer` (JSON: a writable Redis cannot make a
  worker unpickle code);
- the spider middleware :class:`crawler.fleet.coordinator.FleetCoordinator`
  (joins the feed's run, closes when the fleet has finished it);
- with ``MIRROR_WRITE = "redis"``, :class:`crawler.fleet.handoff.HandoffPipeline`
  in place of the write pipeline: posts go to ``scrapy writer`` on the mirror's host.

The dedup store (:func:`crawler.mirror.dedup.open_store`) and the politeness
middleware pick their Redis side from ``REDIS_URL`` themselves.
"""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

WRITE_MODES = ("direct", "redis")


def missing_packages(settings: BaseSettings) -> str | None:
    """With ``REDIS_URL`` set, the one line to print when the fleet's packages
    (scrapy-redis, redis-py) cannot be imported; else None."""
    if not settings.get("REDIS_URL"):
        return None
    try:
        import redis  # noqa: F401
        import scrapy_redis  # noqa: F401
    except ImportError as e:
        return (
            f"REDIS_URL is set but the fleet's packages are missing ({e}): "
            "pip install 'news-mirror[fleet]'"
        )
    return None


class FleetAddon:
    def __init__(self, crawler: Crawler):
        if not crawler.settings.get("REDIS_URL"):
            raise NotConfigured

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FleetAddon:
        return cls(crawler)

    def update_settings(self, settings: BaseSettings) -> None:
        mode = settings.get("MIRROR_WRITE")
        if mode not in WRITE_MODES:
            raise ValueError(f"MIRROR_WRITE must be one of {', '.join(WRITE_MODES)}, not {mode!r}")
        problem = missing_packages(settings)
        if problem:
            raise RuntimeError(problem)
        from crawler.fleet.connection import Keys
        from crawler.fleet.coordinator import FleetCoordinator

        keys = Keys(settings.get("FLEET_KEY_PREFIX"))
        settings.set("SCHEDULER", "crawler.fleet.scheduler.FleetScheduler", "addon")
        settings.set("SCHEDULER_QUEUE_CLASS", "crawler.fleet.scheduler.ReliableQueue", "addon")
        settings.set("DUPEFILTER_CLASS", "crawler.fleet.scheduler.RunDupeFilter", "addon")
        settings.set("SCHEDULER_PERSIST", True, "addon")
        settings.set("SCHEDULER_SERIALIZER", "crawler.fleet.serializer", "addon")
        settings.set("SCHEDULER_QUEUE_KEY", keys.queue_template, "addon")
        settings.set("SCHEDULER_DUPEFILTER_KEY", keys.dupefilter_template, "addon")
        settings.set_in_component_priority_dict("SPIDER_MIDDLEWARES", FleetCoordinator, 10)
        if mode == "redis":
            from crawler.fleet.handoff import HandoffPipeline
            from crawler.pipelines.write import WritePipeline

            settings.replace_in_component_priority_dict(
                "ITEM_PIPELINES", WritePipeline, HandoffPipeline
            )
            # The site's files belong to the mirror's host, not to this one.
            settings.set("MIRROR_SITE_ENABLED", False, "addon")
