"""Article bodies cleaned for the archive: the generic sanitizer
(:mod:`crawler.cleaning.cleaner`) and the source's own markup rules
(:mod:`crawler.cleaning.eastmoney`), and an article item cleaned with them
(:mod:`crawler.cleaning.articles`)."""
