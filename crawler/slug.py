"""Category slugs: the pinyin of an outlet name (SPEC §3.1)."""

from __future__ import annotations

import re
from functools import lru_cache

from pypinyin import lazy_pinyin

_NON_SLUG = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=4096)
def category_slug(outlet: str) -> str:
    """``昆明日报`` → ``kunmingribao``, ``21世纪经济报道`` → ``21shijijingjibaodao``.

    Lower-case ASCII letters and digits; every other run becomes one ``-``.
    """
    text = "".join(lazy_pinyin(outlet.strip())).lower()
    return _NON_SLUG.sub("-", text).strip("-")
