"""Spotlight: a realtime market-data server for traders' dashboards, on Trio.

General layout (the folder tree is the architecture; docs/architecture.md has the detail).
Packages from the bottom up; each may import only the layers below it, never one beside or
above it (tests/test_layering.py fails on an upward import):

    domain/      ticks, bars, option snapshots, New York time, the NYSE calendar (pure)
    runtime/     actors: supervisor, backoff, mailbox, parking, tree, clock, GC, orphans
    config.py    settings from the environment, every default named once
    hub/         epoch, one sequence, encode once, history, fan-out to inboxes (pure); its
                 backends: memory (default) or Redis (shared by every node, docs/scaling.md)
    auth/        PIN, sessions, stream tokens, lockout, origins; ``access``, the one gate
    analytics/   GEX, levels, regime, setups, flow, coach: inputs -> payloads (pure)
    recording/   the journal of live inputs that replays read
    protocol/    wire rules over hub events: resume, SSE framing, topics, close reasons
    market/      sources: the simulator (tape, option book), Massive (client, pollers)
    metrics.py   every Prometheus metric; testing/ the shipped fakes (Massive, a voice
                 provider) and the virtual clock the tests run the whole server on
    engine/      pipeline, market supervisor, analytics actor and worker, feeds; with Redis
                 the leader lease (one market per deployment) and a follower's mirror
    replay/      replay actors: their own engine, fed from recordings or rebuilt days
    clients/     per-client actors: inboxes, writers, flusher, shared chunks
    voice/       the voice coach: protocol state, agents (offline, relay), tools (beside clients/)
    service.py   the root actor that owns all of the above
    web/         the Quart surface, the raw-socket SSE path, the static trader's screen
    server.py    listening socket, connection router, hypercorn, shutdown; __main__ the CLI
    workers.py   ``serve --workers N``: N server processes on one port (SO_REUSEPORT, Redis)

The actor tree, in ``server.serve()``'s root nursery (not Quart's lifespan: a failure there
must stop the server, not be logged and ignored):

    service.SpotlightService                    root actor
    ├── market (engine/supervisor)              restarts its children with backoff
    │   ├── pipeline:live (engine/pipeline)     tick batches -> normalize -> bars -> publish
    │   ├── source:simulated | source:massive   (market/) -> the pipeline's inbox
    │   └── analytics (engine/analytics_actor)  SPX channels on cadences, heavy steps in a worker
    ├── recorder, replays (replay/)             the journal; one replay:<id> per replay
    ├── flusher, heartbeats (clients/)          one write per client per burst
    └── hub (hub/, passive)                     plus one task per connection (server.py)

One event's path: source tick -> Pipeline inbox -> TickNormalizer -> SymbolBars (candle
rules, rollups) -> MarketPublisher -> Hub.publish (seq, encode once, history, offer to every
subscribed ClientInbox without waiting) -> the flusher drains each dirty inbox -> one write.
"""

__version__ = "0.1.0"
