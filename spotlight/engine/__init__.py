"""The wiring: sources into the pipeline, the pipeline into the hub, analytics on cadences.

- ``pipeline``: the pipeline actor (tick batches -> normalize -> bars -> publish); live and
  replay both run it.
- ``normalizer``, ``publisher``: its stages (drop bad ticks; turn changes into hub events).
- ``supervisor``: the market supervisor actor (source, pipeline and analytics as children).
- ``analytics_engine``, ``analytics_actor``, ``analytics_worker``: the SPX analytics as steps
  with explicit inputs, the live actor that runs them on timers, and the worker process that
  runs the heavy ones.
- ``feed``: where a stream finds its hub and pipeline (the live one or a replay's).
"""
