"""Walking one subtree: gathering its varbinds from successive GETNEXT or GETBULK replies.

One rule for every walk (the v1/v2c client's, the SNMPv3 session's and the poller's
multi-column GETBULK): a walk ends at the first varbind outside its subtree or at
endOfMibView, and an agent that does not move forward is a ``MalformedReply`` instead of a
loop without end.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from probes.base import MalformedReply
from probes.snmp.codec import OID, Tag, VarBind, format_oid

__all__ = ["SubtreeWalk"]

_END_OF_MIB_VIEW: Final = int(Tag.END_OF_MIB_VIEW)


class SubtreeWalk:
    """The varbinds strictly under ``root`` seen so far, in OID order.

    ``last`` is where the next request continues from; ``done`` turns true once a reply has
    left the subtree. Walking a leaf such as ``sysUpTime.0`` itself gathers nothing.
    """

    __slots__ = ("_depth", "done", "last", "root", "varbinds")

    def __init__(self, root: OID) -> None:
        self.root = root
        self._depth = len(root)
        self.last = root
        self.varbinds: list[VarBind] = []
        self.done = False

    def take(self, varbinds: Iterable[VarBind]) -> bool:
        """Take a reply's varbinds in order, up to the first outside the subtree (or
        endOfMibView); True when the walk is done. Raises ``MalformedReply`` at a varbind that
        does not come after the one before."""
        root, depth, last = self.root, self._depth, self.last
        append = self.varbinds.append
        try:
            for vb in varbinds:
                oid = vb.oid
                if vb.tag == _END_OF_MIB_VIEW or oid[:depth] != root:
                    self.done = True
                    break
                if oid <= last:
                    raise MalformedReply(
                        f"agent returned non-increasing OID {format_oid(oid)} "
                        f"after {format_oid(last)}"
                    )
                append(vb)
                last = oid
        finally:
            self.last = last
        return self.done
