"""What the project ships for its tests and demos: the fake Massive server.

Production code never imports this package; the CLI (``python -m spotlight fake-massive``)
imports it lazily, inside the command.
"""
