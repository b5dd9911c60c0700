"""The mirror on disk: the archive format, the ``.mirror/`` state folder (its
paths named in :mod:`crawler.mirror.paths`), dedup stores, the run lock,
rotation, run history, back-off, the archive reader and the Jekyll site."""
