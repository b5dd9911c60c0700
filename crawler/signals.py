"""The mirror's own Scrapy signals (sent with ``crawler.signals``)."""

from __future__ import annotations

#: A post file was written: ``item`` (the Article) now is ``path``. Sent by the
#: write pipeline right after the rename; the capture appends its records then.
post_written = object()
