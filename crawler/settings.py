"""Scrapy settings of the news mirror.

Every setting can be overridden with ``-s NAME=value`` on any command. The
mirror's own settings come first, grouped; Scrapy's follow.
"""

import os

BOT_NAME = "news-mirror"

SPIDER_MODULES: list[str] = []
SPIDER_LOADER_CLASS = "crawler.spiderloader.CatalogSpiderLoader"
COMMANDS_MODULE = "crawler.commands"

# --- The mirror -------------------------------------------------------------
MIRROR_DIR = "output"
MIRROR_BASE_URL = "//finews.withounder.com"
MIRROR_KEEP_DAYS = 3
# How an outlet name becomes its category slug (`outlet: auto`, or no
# `category`): "character" reads it as the finews mirror did (xpinyin, one
# character at a time: 重庆日报 → zhongqingribao), so its category URLs carry
# over; "phrase" reads phrases correctly (chongqingribao), for a new mirror.
MIRROR_PINYIN = "character"
# Articles dropped as bad are not fetched again before this many hours pass
# (the source may fix them); 0 retries them on every run.
MIRROR_RETRY_DROPPED_HOURS = 24
# An article whose cleaned body is larger than this many bytes (UTF-8) is
# dropped as too_large: one post must not multiply the site's build time or
# the size of its Atom feeds. 0: no limit.
MIRROR_MAX_BODY_BYTES = 1024 * 1024
# Each post reaches the disk (fsync) before it is renamed into _posts/, so a
# power cut cannot leave an empty post that the dedup index calls mirrored.
# Costs one or two disk flushes per post (0.4 ms on an SSD, ~10 ms on a
# spinning disk); False leaves it to the kernel (a crash of the process is
# still safe, a power cut may not be).
MIRROR_FSYNC = True
# Seconds between progress lines in the log during a crawl; 0 turns them off.
MIRROR_PROGRESS_INTERVAL = 30
# The whole log of crawl, crawlall and demo goes to <MIRROR_DIR>/.mirror/logs/crawl.log
# at this level, rotated at MIRROR_LOG_MAX_BYTES (0: no log file) with this many
# old files kept (crawl.log.1 …); the terminal shows progress and summaries
# unless -L/--verbose/--logfile asks for Scrapy's log (crawler/ops/logs.py).
MIRROR_LOG_FILE_LEVEL = "INFO"
MIRROR_LOG_MAX_BYTES = 5_000_000
MIRROR_LOG_BACKUPS = 5
# On a backfill, listing pages fetched ahead of the next one, at most, when the
# feed's page URLs count up (crawler/source/listingwalk.py); 0 walks page by page
# (a fleet always does: its workers share the requests of one walk).
MIRROR_LISTING_PREFETCH = 4
# Worker processes that extract, clean and write articles beside the crawl
# (crawler/offload/): -1 one per core beyond the first (none on one core), 0 none.
# They start once the process has asked for this many jobs (three an article): a
# worker's start costs about what it saves on that many.
MIRROR_WORKERS = -1
MIRROR_WORKERS_AFTER = 100
# Python's garbage collector: start-up objects frozen out of collections and the
# youngest generation collected every this many allocations (Python: 700);
# 0 leaves it as Python sets it (crawler/extensions/collector.py).
MIRROR_GC_THRESHOLD = 10000

# Keep what the source sent for every post written, as WARC files under
# .mirror/capture/, and which records each post came from (crawler/mirror/capture.py):
# `scrapy rebuild` re-derives the posts from them. A file is closed (fsynced,
# renamed into place) at this size, or when its crawl ends.
MIRROR_CAPTURE = False
MIRROR_CAPTURE_MAX_BYTES = 100_000_000

# Revisits (SPEC §9): ages after an article's first fetch at which a run of
# its feed fetches it again (one request: its share page or content API) to
# keep its revisions; comma-separated durations (30s, 10m, 1h, 2d); empty: off.
# The default costs 2 requests per article, both in its first day (its first
# fetch costs 1, the listing about 1 per 10 articles): the corrections made in
# the first hour (figures, names, typos) and the next day's rewrites
# (README, "Revisions").
MIRROR_REVISIT = "1h,24h"

# --- Seams: the components a fleet (crawler/addons/fleet.py) switches -------
# Where articles are claimed and posts recorded once (a class with from_crawler,
# subclassing crawler.mirror.dedup.DedupStore); one object per crawler, shared
# by the crawlers of one process on the same MIRROR_DIR.
MIRROR_DEDUP_STORE = "crawler.mirror.dedup.FileDedupStore"
# A politeness backend granting per-host leases beyond this process (a class
# with from_crawler, async acquire(host, limit, delay) and release(lease));
# empty: the per-process gates alone (crawler/middlewares/politeness.py).
POLITENESS_LEASES = ""
# Whether crawl, crawlall and demo check first that MIRROR_DIR takes files.
MIRROR_STORAGE_CHECK = True
# A function (settings) -> (message, close reason) | None run before a crawl:
# what stops it at the start, its feeds recorded as FAILED. Empty: none.
MIRROR_RUN_CHECK = ""
# `scrapy schedule` ticks on the wall clock, the same for every host of a fleet.
MIRROR_SHARED_TICKS = False
# crawlall's feeds crawled by a crawler each, not by one crawler for them all
# (crawler/commands/__init__.py: crawl_feeds). A fleet's (scrapy-redis keeps a
# queue, a dupefilter and a run per spider, each worker a feed's).
MIRROR_CRAWLER_PER_FEED = False
# What the crawlers of this process share (crawler/process.py): set by the
# commands that run crawlers; None: each crawler makes its own.
MIRROR_PROCESS = None

# --- The site (Jekyll) -----------------------------------------------------
# Install the site's files (layouts, home page, feeds) into MIRROR_DIR and keep
# them up to date; the title and description only seed _config.yml, which the
# crawler writes once and never again (it is the user's).
MIRROR_SITE_ENABLED = True
MIRROR_SITE_TITLE = "新闻镜像"
MIRROR_SITE_DESCRIPTION = ""
# Publishing (crawler/mirror/publish.py): each run that changed the mirror ends
# with one git commit in MIRROR_DIR (a repository of its own, created when
# absent), its summary line as the message; MIRROR_GIT_PUSH = "REMOTE BRANCH"
# (a remote's name or URL) pushes it. A failed push is tried again next run.
# "remote" (default): posts hot-link their images, as the finews mirror's did.
# "local": images in bodies are downloaded (crawler/pipelines/images.py), kept
# once by content hash in MIRROR_DIR/assets/images/ and the posts point at
# them; an image not had within MIRROR_IMAGES_TIMEOUT seconds keeps its remote
# URL and is asked for again by the feed's next run.
MIRROR_IMAGES = "remote"
MIRROR_IMAGES_TIMEOUT = 30
MIRROR_GIT = False
MIRROR_GIT_PUSH = ""

# --- Scheduling -------------------------------------------------------------
# One crawl, crawlall, rotate or schedule at a time on a MIRROR_DIR
# (.mirror/run.lock); another exits with status 75. False lets several write
# one mirror at once (each post is still written once). A fleet (REDIS_URL)
# takes no lock: its add-on turns this off.
MIRROR_RUN_LOCK = True
# In `scrapy schedule`, a feed that failed k runs in a row sits out the next
# 2**(k-1) - 1 runs, but never more runs than fit in this many seconds.
MIRROR_BACKOFF_MAX = 3600
# `scrapy status` flags a feed QUIET when its runs found nothing new for longer
# than MIRROR_QUIET_FACTOR times its longest such stretch of the past week, and
# than MIRROR_QUIET_HOURS.
MIRROR_QUIET_FACTOR = 2.0
MIRROR_QUIET_HOURS = 6
# .mirror/runs.jsonl keeps the runs of this many days; older ones are folded
# into one summary line (runs and new posts per feed), so `scrapy status`
# keeps its totals while the file stays small. 0 keeps every run. Status
# judges QUIET feeds on the past week: keep at least 8.
MIRROR_HISTORY_DAYS = 30
# Tests: an ISO 8601 time standing in for the clock in rotation, status and revisits.
MIRROR_NOW = ""

# --- The feed catalog -------------------------------------------------------
# Empty: the catalog shipped in the package (crawler/source/feeds.yaml).
NEWS_FEEDS_FILE = ""

# --- A fleet of workers (SPEC §8) -------------------------------------------
# Set (here, with -s, or in the environment) to make crawl, crawlall and
# schedule workers of one shared crawl in this Redis: redis://[:password@]host:6379/0.
# Empty: nothing imports or needs Redis.
REDIS_URL = os.environ.get("REDIS_URL", "")
# Every key the fleet keeps in Redis starts with this: one prefix per mirror.
FLEET_KEY_PREFIX = "news-mirror"
# "direct": this worker writes posts into MIRROR_DIR itself (the folder is
# here, or shared); "redis": it hands them through Redis to `scrapy writer`
# on the host that holds the mirror.
MIRROR_WRITE = "direct"
# A "direct" worker whose MIRROR_DIR lacks posts Redis records as mirrored (a
# fresh folder, another host, a restored backup) refuses to crawl into it;
# True makes Redis forget what the folder lacks, so it is mirrored again.
FLEET_RESEED = False
# A worker beats every FLEET_HEARTBEAT_INTERVAL s; one silent for
# FLEET_WORKER_TIMEOUT s is dead, and what it held is done by the others.
FLEET_HEARTBEAT_INTERVAL = 2.0
FLEET_WORKER_TIMEOUT = 15.0
# A worker that starts a feed less than this many seconds after the fleet
# finished a run of it (started by `crawl` or `crawlall` on several hosts at
# about the same time) has nothing to do: the listing is not read again.
FLEET_RUN_GRACE = 10.0
# Requests a worker takes from the shared queue at once (held as its own
# until done: a killed worker's are done by the others).
FLEET_PREFETCH = 4
# How often an idle worker looks for work in the shared queue (s).
FLEET_POLL_INTERVAL = 0.2
# Seconds a Redis call may take before the worker gives Redis up.
FLEET_REDIS_TIMEOUT = 10.0
# Set by `scrapy schedule` on a fleet: the tick a crawl belongs to.
FLEET_TICK = ""

# --- Components -------------------------------------------------------------
ITEM_PIPELINES = {
    "crawler.pipelines.validate.ValidatePipeline": 100,
    "crawler.pipelines.clean.CleanPipeline": 200,
    "crawler.pipelines.images.LocalImagesPipeline": 250,  # MIRROR_IMAGES=local only
    "crawler.pipelines.write.WritePipeline": 300,
}
DOWNLOADER_MIDDLEWARES = {
    # Scrapy's lets dont_filter requests (all of ours) and redirects off the feed's hosts.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.middlewares.offsite.FeedHostsMiddleware": 50,
    "crawler.middlewares.retrybackoff.RetryBackoffMiddleware": 980,
    # After Scrapy's RetryMiddleware (550): an unreadable robots.txt is one line, no traceback.
    "crawler.middlewares.robotsfailure.RobotsTxtFailureMiddleware": 545,
    # Below HttpCompression (590): process_response runs from the highest order down, and
    # Scrapy forgets the encoding of a response it decompresses; the charset is chosen after.
    "crawler.middlewares.encoding.EncodingMiddleware": 580,
    "crawler.middlewares.politeness.PolitenessMiddleware": 990,  # last before the download
    # Between HttpCompression (590) and Redirect (600): the final response, body as received.
    "crawler.middlewares.capture.CaptureDownloaderMiddleware": 595,  # only with MIRROR_CAPTURE
}
SPIDER_MIDDLEWARES = {
    "crawler.middlewares.capture.CaptureSpiderMiddleware": 950,  # only with MIRROR_CAPTURE
}
ADDONS = {
    "crawler.addons.fleet.FleetAddon": 0,  # only with REDIS_URL
    "crawler.addons.identity.IdentityAddon": 0,  # USER_AGENT from MIRROR_CONTACT_URL
}
EXTENSIONS = {
    "crawler.extensions.drift.SelectorDrift": 490,  # before the summary, which reads it
    "crawler.extensions.summary.FeedSummary": 500,
    "crawler.extensions.site.SiteFiles": 600,
    "crawler.extensions.collector.CollectorTuning": 700,
}

# --- Politeness and identity ------------------------------------------------
# The user agent is "news-mirror/<version> (+MIRROR_CONTACT_URL)": set this to
# a page where a site's owner can reach you. USER_AGENT, if set, wins.
MIRROR_CONTACT_URL = "https://github.com/news-mirror/news-mirror"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0
# Hold CONCURRENT_REQUESTS_PER_DOMAIN and DOWNLOAD_DELAY (and AutoThrottle's
# delay) per host for every crawler of the process, and of the fleet together
# (crawler/middlewares/politeness.py); Scrapy alone bounds each crawler. The
# delay is then a minimum between two requests (DOWNLOAD_DELAY_JITTER is off).
POLITENESS_ENABLED = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_TIMEOUT = 30
# A <meta http-equiv="refresh"> in a page is not followed: one in an article's
# body (a planted redirect) would replace the article. HTTP redirects are.
METAREFRESH_ENABLED = False
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
RETRY_TIMES = 2
# Retry n waits RETRY_BACKOFF_BASE * 2**(n-1) s (±25 %), at most RETRY_BACKOFF_MAX,
# at least a 429/503's Retry-After; 0 retries at once (Scrapy's way).
RETRY_BACKOFF_BASE = 1.0
RETRY_BACKOFF_MAX = 60.0

# --- Scrapy -----------------------------------------------------------------
# Outputs of one callback processed at once (Scrapy's default: 100). Scrapy
# starts that many tasks for every response, and ours yield one item, or one
# listing page's requests, through synchronous pipelines: 100 cost a fifth of
# a backfill's CPU time for nothing (bench/, README "Performance").
CONCURRENT_ITEMS = 8
LOG_LEVEL = "INFO"
TELNETCONSOLE_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
LOG_FORMATTER = "crawler.logformatter.MirrorLogFormatter"
