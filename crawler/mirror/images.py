"""Where a mirror keeps its images (``MIRROR_IMAGES=local``), and the ``<img src>`` of a body.

The images live in ``{MIRROR_DIR}/assets/images/``, one file per content
(:mod:`crawler.pipelines.images` stores and points posts at them;
``scrapy verify`` reports those a post shows and the mirror lacks).
"""

from __future__ import annotations

import re

__all__ = ["IMAGES_DIR", "image_sources", "point_at"]

IMAGES_DIR = "assets/images"
_IMG_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]+)(")')


def image_sources(body: str) -> list[str]:
    """The ``src`` attributes of the body's images, as written (HTML-escaped), once each."""
    return list(dict.fromkeys(m[2] for m in _IMG_SRC.finditer(body)))


def point_at(body: str, sources: dict[str, str]) -> str:
    """``body`` with each image ``src`` in ``sources`` replaced by its new value."""
    return _IMG_SRC.sub(lambda m: m[1] + sources.get(m[2], m[2]) + m[3], body)
