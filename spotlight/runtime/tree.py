"""The actor tree as data: what /api/diag shows of every running actor.

Each actor owns one ``ActorNode``; nodes are created by the parent (``node.child(...)``) and
removed by whoever created them when the actor's task ends, so the tree is always the set of
live actors. Nodes hold no tasks: lifetimes belong to nurseries, the tree only describes them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["ActorNode"]

_ids = itertools.count(1)


class ActorNode:
    __slots__ = (
        "_children",
        "_parent",
        "id",
        "kind",
        "last_error",
        "name",
        "restarts",
        "started_ms",
        "state",
        "stats",
    )

    def __init__(self, name: str, kind: str, parent: ActorNode | None = None) -> None:
        self.id = next(_ids)
        self.name = name
        self.kind = kind
        # starting -> running -> (restarting -> running)* -> stopped | failed
        self.state = "starting"
        self.restarts = 0
        self.last_error: str | None = None
        self.started_ms: int | None = None
        # Optional callable returning a small JSON-able dict (inbox depth, counters...).
        self.stats: Callable[[], dict[str, Any]] | None = None
        self._parent = parent
        self._children: dict[int, ActorNode] = {}

    def child(self, name: str, kind: str) -> ActorNode:
        node = ActorNode(name, kind, self)
        self._children[node.id] = node
        return node

    def detach(self) -> None:
        """Remove this node from its parent (the actor's task has ended)."""
        if self._parent is not None:
            self._parent._children.pop(self.id, None)
            self._parent = None

    @property
    def children(self) -> list[ActorNode]:
        return list(self._children.values())

    def walk(self, *, skip_kind_prefix: str | None = None) -> Iterator[ActorNode]:
        """This node and its descendants, depth first; subtrees of skipped kinds are left out."""
        yield self
        for child in list(self._children.values()):
            if skip_kind_prefix is None or not child.kind.startswith(skip_kind_prefix):
                yield from child.walk(skip_kind_prefix=skip_kind_prefix)

    def to_json(self, *, max_children: int = 200) -> dict[str, Any]:
        """A JSON view; at most ``max_children`` children per node (diag must stay small)."""
        kids = list(self._children.values())
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "state": self.state,
            "restarts": self.restarts,
        }
        if self.last_error:
            out["lastError"] = self.last_error
        if self.stats is not None:
            out["stats"] = self.stats()
        if kids:
            out["children"] = [k.to_json(max_children=max_children) for k in kids[:max_children]]
            if len(kids) > max_children:
                out["childrenOmitted"] = len(kids) - max_children
        return out
