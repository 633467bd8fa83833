"""Spotlight: a realtime market-data server for traders' dashboards, on Trio.

General layout (the folder tree is the architecture; docs/architecture.md has the detail):

    service.SpotlightService                  root actor, started in Quart-Trio's app nursery
    ├── market supervisor (market/supervisor)  restarts its children with backoff
    │   ├── pipeline:live (pipeline.Pipeline)  inbox of tick batches -> normalize -> bars -> publish
    │   └── source:simulated                   seeded simulator (Massive later) -> pipeline inbox
    ├── hub (hub/)                             one seq per epoch, encode once, history, fan-out
    └── clients (clients/)                     one actor per SSE/WS connection, bounded inbox

One event's path: source tick -> Pipeline inbox -> TickNormalizer -> SymbolBars (candle rules,
rollups) -> MarketPublisher -> Hub.publish (seq, encode, history, offer to every subscribed
ClientInbox without waiting) -> that client's writer drains its whole inbox -> one socket write.

Pure layers (hub/, protocol/, market/bars.py, market/simulator.py) import no I/O; runtime/
holds the actor machinery; web/ is the Quart surface; server.py binds the socket for hypercorn.
"""

__version__ = "0.1.0"
