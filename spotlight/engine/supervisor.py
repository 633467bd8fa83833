"""The market supervisor actor: runs the pipeline and its source, restarting either on failure.

Children (each under ``supervise`` with backoff and escalation):
- ``pipeline:<name>``: drains tick batches into bars and hub events;
- ``source:<kind>``: produces tick batches into the pipeline's inbox.

The pipeline's state (bars, last prices) lives on the ``Pipeline`` object, not in the task, so
a restarted child resumes with everything it had. Later issues add Massive pollers here.
"""

from __future__ import annotations

from functools import partial

import trio

from spotlight.engine.analytics_actor import AnalyticsActor
from spotlight.engine.pipeline import Pipeline
from spotlight.market.source import MarketSource
from spotlight.runtime.supervisor import RestartPolicy, supervise
from spotlight.runtime.tree import ActorNode

__all__ = ["MarketSupervisor"]


class MarketSupervisor:
    def __init__(
        self,
        pipeline: Pipeline,
        source: MarketSource,
        reason: str,
        policy: RestartPolicy | None = None,
        analytics: AnalyticsActor | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.source = source
        self.reason = reason
        self.policy = policy or RestartPolicy()
        self.analytics = analytics

    async def run(
        self, node: ActorNode, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        node.stats = lambda: {"source": self.source.kind, "reason": self.reason}
        async with trio.open_nursery() as nursery:
            await nursery.start(
                supervise,
                node,
                f"pipeline:{self.pipeline.name}",
                "pipeline",
                self.pipeline.run,
                self.policy,
            )
            await nursery.start(
                supervise,
                node,
                f"source:{self.source.kind}",
                "source",
                partial(self.source.run, sink=self.pipeline.inbox.send),
                self.policy,
            )
            if self.analytics is not None:
                await nursery.start(
                    supervise, node, "analytics", "analytics", self.analytics.run, self.policy
                )
            task_status.started()
