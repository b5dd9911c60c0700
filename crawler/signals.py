"""The mirror's own Scrapy signals (sent with ``crawler.signals``)."""

from __future__ import annotations

#: A post file was written: ``item`` (the Article) now is ``path``. Sent by the
#: write pipeline right after the rename; the capture appends its records then.
post_written = object()

#: A revisit changed a post: ``item`` (the revisit's Article) gave the title and
#: body now at ``path`` (the earlier version kept as a revision). Sent by the
#: reviser right after the post is replaced; the capture appends the revisit's
#: records then, so that the post's provenance names the response it now
#: derives from.
post_revised = object()
