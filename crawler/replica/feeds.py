"""The feed catalog pointed at a replica instead of the real source."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from crawler.catalog import default_catalog_path

SOURCE_BASE = "http://finews.zning.xyz"
# The keys holding URLs that are fetched; `share_url` is the public link a
# post records, so it keeps pointing at the real source.
FETCHED_KEYS = ("start_urls", "api", "list_api")


def _rebase(url: Any, base: str) -> Any:
    if isinstance(url, str) and (url == SOURCE_BASE or url.startswith(SOURCE_BASE + "/")):
        return base + url[len(SOURCE_BASE) :]
    return url


def replica_catalog(base_url: str, catalog_path: str | None = None) -> dict[str, Any]:
    """The catalog at ``catalog_path`` (default: the shipped one) with every
    fetched URL (``start_urls``, ``api``, ``list_api``) moved from
    ``http://finews.zning.xyz`` to ``base_url``."""
    base = base_url.rstrip("/")
    with open(catalog_path or default_catalog_path(), encoding="utf-8") as f:
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
