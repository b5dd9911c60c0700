"""Category slugs: the pinyin of an outlet name (SPEC §3.1).

Two readings, chosen by the ``MIRROR_PINYIN`` setting:

- ``character`` (the default): xpinyin's reading, one character at a time,
  as the finews mirror computed its slugs (重庆日报 → ``zhongqingribao``,
  厦门日报 → ``shamenribao``), so that its category URLs carry over;
- ``phrase``: pypinyin's phrase-correct reading (``chongqingribao``,
  ``xiamenribao``), for a new mirror with no URLs to keep.

Either way the slug is lower-case ASCII letters and digits, every other run
of characters one ``-``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

READINGS = ("character", "phrase")
DEFAULT_READING = "character"

_NON_SLUG = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=1)
def _xpinyin() -> Any:  # xpinyin.Pinyin, untyped
    from xpinyin import Pinyin

    return Pinyin()


def _character_reading(text: str) -> str:
    # As finews did: xpinyin's syllables joined by "-", then every "-" removed.
    return str(_xpinyin().get_pinyin(text)).replace("-", "")


def _phrase_reading(text: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(text))


@lru_cache(maxsize=4096)
def category_slug(outlet: str, reading: str = DEFAULT_READING) -> str:
    """``昆明日报`` → ``kunmingribao``, ``21世纪经济报道`` → ``21shijijingjibaodao``.

    Lower-case ASCII letters and digits; every other run becomes one ``-``.
    ``reading`` is one of :data:`READINGS`.
    """
    if reading == "phrase":
        text = _phrase_reading(outlet.strip())
    elif reading == "character":
        text = _character_reading(outlet.strip())
    else:
        raise ValueError(f"unknown pinyin reading {reading!r}; known: {', '.join(READINGS)}")
    return _NON_SLUG.sub("-", text.lower()).strip("-")
