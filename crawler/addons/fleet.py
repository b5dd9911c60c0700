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

- the seams the rest of the crawler reads as settings, forced (a fleet is
  one crawl of several hosts, whatever else is configured):
  ``MIRROR_DEDUP_STORE``: :class:`crawler.fleet.store.RedisDedupStore`;
  ``POLITENESS_LEASES``: :class:`crawler.fleet.politeness.FleetHostLeases`;
  ``MIRROR_LISTING_PREFETCH`` 0 (the workers share the requests of one walk).

Before any crawler, the commands' own settings (:meth:`FleetAddon.update_pre_crawler_settings`,
which Scrapy calls for commands that run crawlers and :func:`prepare_fleet` for
the others): ``MIRROR_RUN_LOCK`` off (the workers share one crawl on purpose),
``MIRROR_RUN_CHECK`` :func:`crawler.fleet.store.run_check` (Redis reachable,
the folder not behind it), ``MIRROR_CRAWLER_PER_FEED`` on (the fleet's run,
queue and dupefilter are a feed's, keyed by its spider), ``MIRROR_SHARED_TICKS``
on (``schedule`` ticks on the wall clock, shared by the hosts),
``MIRROR_STORAGE_CHECK`` off when posts are handed over (``MIRROR_WRITE =
"redis"``: no folder here).

``REDIS_URL`` is read here and in :mod:`crawler.fleet` only.
"""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

WRITE_MODES = ("direct", "redis")


def fleet_configured(settings: BaseSettings) -> bool:
    """Whether the settings make this process a fleet's (``REDIS_URL``)."""
    return bool(settings.get("REDIS_URL"))


def force(settings: BaseSettings, name: str, value: object) -> None:
    """Set ``name`` over whatever set it (the project's default, ``-s``)."""
    priority = max(settings.getpriority(name) or 0, SETTINGS_PRIORITIES["addon"])
    settings.set(name, value, priority=priority)


def prepare_fleet(settings: BaseSettings) -> str | None:
    """A command's settings made a fleet's (see the module's docstring) when
    ``REDIS_URL`` is set; the one line to print if the fleet's packages are
    missing, else None."""
    problem = missing_packages(settings)
    if problem is None:
        FleetAddon.update_pre_crawler_settings(settings)
    return problem


def missing_packages(settings: BaseSettings) -> str | None:
    """With ``REDIS_URL`` set, the one line to print when the fleet's packages
    (scrapy-redis, redis-py) cannot be imported; else None."""
    if not fleet_configured(settings):
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

    @classmethod
    def update_pre_crawler_settings(cls, settings: BaseSettings) -> None:
        if not fleet_configured(settings):
            return
        force(settings, "MIRROR_RUN_LOCK", False)
        force(settings, "MIRROR_RUN_CHECK", "crawler.fleet.store.run_check")
        force(settings, "MIRROR_SHARED_TICKS", True)
        force(settings, "MIRROR_CRAWLER_PER_FEED", True)  # scrapy-redis: a queue per spider
        if settings.get("MIRROR_WRITE") == "redis":
            force(settings, "MIRROR_STORAGE_CHECK", False)

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
        force(settings, "MIRROR_DEDUP_STORE", "crawler.fleet.store.RedisDedupStore")
        force(settings, "POLITENESS_LEASES", "crawler.fleet.politeness.FleetHostLeases")
        force(settings, "MIRROR_LISTING_PREFETCH", 0)
        if mode == "redis":
            from crawler.fleet.handoff import HandoffPipeline
            from crawler.pipelines.write import WritePipeline

            settings.replace_in_component_priority_dict(
                "ITEM_PIPELINES", WritePipeline, HandoffPipeline
            )
            # The site's files belong to the mirror's host, not to this one.
            settings.set("MIRROR_SITE_ENABLED", False, "addon")
