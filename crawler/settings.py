"""Scrapy settings of the news mirror.

Every setting can be overridden with ``-s NAME=value`` on any command. The
mirror's own settings come first, grouped; Scrapy's follow.
"""

BOT_NAME = "news-mirror"

SPIDER_MODULES: list[str] = []
SPIDER_LOADER_CLASS = "crawler.spiderloader.CatalogSpiderLoader"
COMMANDS_MODULE = "crawler.commands"

# --- The mirror -------------------------------------------------------------
MIRROR_DIR = "output"
MIRROR_BASE_URL = "//finews.withounder.com"
MIRROR_KEEP_DAYS = 3
# Articles dropped as bad are not fetched again before this many hours pass
# (the source may fix them); 0 retries them on every run.
MIRROR_RETRY_DROPPED_HOURS = 24
# Seconds between progress lines in the log during a crawl; 0 turns them off.
MIRROR_PROGRESS_INTERVAL = 30

# --- The feed catalog -------------------------------------------------------
# Empty: the catalog shipped in the package (crawler/feeds.yaml).
NEWS_FEEDS_FILE = ""

# --- Components -------------------------------------------------------------
ITEM_PIPELINES = {
    "crawler.pipelines.validate.ValidatePipeline": 100,
    "crawler.pipelines.clean.CleanPipeline": 200,
    "crawler.pipelines.write.WritePipeline": 300,
}
DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.encoding.EncodingMiddleware": 950,
}
EXTENSIONS = {
    "crawler.extensions.summary.FeedSummary": 500,
}

# --- Politeness and identity ------------------------------------------------
USER_AGENT = "news-mirror/0.1 (+https://github.com/news-mirror/news-mirror)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
RETRY_TIMES = 2

# --- Scrapy -----------------------------------------------------------------
LOG_LEVEL = "INFO"
TELNETCONSOLE_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
LOG_FORMATTER = "crawler.logformatter.MirrorLogFormatter"
