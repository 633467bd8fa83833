"""What the project ships for its tests and demos: the fake Massive server (over HTTP, or as
request handlers behind ``httpx.MockTransport``), a fake voice provider, and virtual time
for running the whole server under Trio's ``MockClock`` (``virtual_time``).

Production code never imports this package; the CLI (``python -m spotlight fake-massive``)
imports it lazily, inside the command.
"""
