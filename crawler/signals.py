"""The mirror's own Scrapy signals (sent with ``crawler.signals``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydispatch.dispatcher import getAllReceivers, liveReceivers

if TYPE_CHECKING:
    from scrapy.signalmanager import SignalManager

#: A post file was written: ``item`` (the Article) now is ``path``. Sent by the
#: write pipeline right after the rename; the capture appends its records then.
post_written = object()

#: A revisit changed a post: ``item`` (the revisit's Article) gave the title and
#: body now at ``path`` (the earlier version kept as a revision). Sent by the
#: reviser right after the post is replaced; the capture appends the revisit's
#: records then, so that the post's provenance names the response it now
#: derives from.
post_revised = object()


def listened(signals: SignalManager, signal: object) -> bool:
    """Whether anything is connected to ``signal``: a pipeline sending one per
    post asks first, since sending to nobody costs as much as a post's
    category check and stats together (pydispatch's own receiver lookup, as
    Scrapy's ``send_catch_log`` makes it)."""
    return bool(list(liveReceivers(getAllReceivers(signals.sender, signal))))
