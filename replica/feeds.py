"""A feed catalog pointed at a replica instead of the real source.

The replica answers at the source's paths and query strings for every host
(the real source's several hosts are one loopback server), so pointing a
catalog at it is moving each fetched URL's ``scheme://host[:port]`` onto it.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

import yaml

#: The replica's own catalog: a feed of every kind it serves (HTML listings,
#: GBK pages, content and list APIs, an aggregate and a feed cut from it).
REPLICA_CATALOG = str(Path(__file__).resolve().parent / "catalog.yaml")
# The keys holding URLs that are fetched; `share_url` is the public link a
# post records, so it keeps pointing at the real source.
FETCHED_KEYS = ("start_urls", "api", "list_api")
_ORIGIN = re.compile(r"https?://[^/?#]+")


def _rebase(url: Any, base: str) -> Any:
    if isinstance(url, str):
        return _ORIGIN.sub(lambda m: base, url, count=1) if _ORIGIN.match(url) else url
    return url


def replica_catalog(base_url: str, catalog_path: str | None = None) -> dict[str, Any]:
    """The catalog at ``catalog_path`` (default: the replica's own,
    :data:`REPLICA_CATALOG`; the shipped one is
    :func:`crawler.source.catalog.default_catalog_path`) with every fetched URL
    (``start_urls``, ``api``, ``list_api``) moved onto ``base_url``, path and
    query kept."""
    base = base_url.rstrip("/")
    with open(catalog_path or REPLICA_CATALOG, encoding="utf-8") as f:
        data = copy.deepcopy(yaml.safe_load(f))
    feeds = data.get("feeds") if isinstance(data, dict) else None
    for spec in (feeds or {}).values():
        if not isinstance(spec, dict):
            continue
        for key in FETCHED_KEYS:
            if key not in spec:
                continue
            value = spec[key]
            if isinstance(value, list):
                spec[key] = [_rebase(u, base) for u in value]
            else:
                spec[key] = _rebase(value, base)
    return data


def write_replica_catalog(
    base_url: str, path: str | os.PathLike[str], catalog_path: str | None = None
) -> str:
    """Write :func:`replica_catalog` as YAML at ``path``; the path written."""
    text = yaml.safe_dump(
        replica_catalog(base_url, catalog_path), allow_unicode=True, sort_keys=False
    )
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return str(target)
