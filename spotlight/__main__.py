"""``python -m spotlight``: the command line.

    python -m spotlight serve [--host H] [--port P] [--workers N]
                                                      run the server (env: HOST, PORT, ...);
                                                      N processes on one port over Redis
    python -m spotlight fake-massive [--host H] [--port P] [--key K] [--seed N]
                                                      run a fake Massive API (tests, demos)
    python -m spotlight settings                      every setting as a Markdown table
    python -m spotlight --version

Configuration comes from environment variables (README, docs/operations.md); the flags only
override HOST and PORT.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import sys
from collections.abc import Sequence

import trio

from spotlight import __version__
from spotlight.config import ConfigError, Settings, help_text, markdown_table
from spotlight.runtime.supervisor import describe
from spotlight.server import serve
from spotlight.service import SpotlightService
from spotlight.workers import MAX_WORKERS, WorkerError, announce, run_workers, worker_env

__all__ = ["configure_logging", "main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m spotlight",
        description="Spotlight realtime market-data server.",
        epilog="Configuration is read from environment variables: `serve --help` lists them.",
    )
    p.add_argument("--version", action="version", version=f"spotlight {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    s = sub.add_parser(
        "serve",
        help="run the server (simulated market unless MASSIVE_API_KEY is set)",
        description="Run the server. Defaults: http://127.0.0.1:5000, simulated market, "
        "everything in memory. HOST and PORT environment variables override the address.",
        epilog=help_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--host", help="listen address (default: $HOST or 127.0.0.1)")
    s.add_argument("--port", type=int, help="listen port (default: $PORT or 5000; 0 = any)")
    s.add_argument(
        "--workers",
        type=int,
        help="server processes sharing the port (SO_REUSEPORT); more than 1 needs "
        "SPOTLIGHT_REDIS_URL (default: $SPOTLIGHT_WORKERS or 1)",
    )
    sub.add_parser(
        "settings",
        help="print every setting as a Markdown table (README.md, docs/operations.md)",
        description="Print the table of every environment variable, its default and its "
        "meaning, generated from the settings' one declaration (spotlight/config.py).",
    )
    f = sub.add_parser(
        "fake-massive",
        help="run a fake Massive REST API (simulated data, fault injection) for tests and demos",
        description="Run a fake Massive REST API on simulated market data, with fault "
        "injection (POST /__fake/faults). Point the server at it with MASSIVE_API_KEY=<key> "
        "SPOTLIGHT_MASSIVE_BASE_URL=<printed URL> python -m spotlight serve.",
    )
    f.add_argument("--host", default="127.0.0.1", help="listen address (default: 127.0.0.1)")
    f.add_argument("--port", type=int, default=5100, help="listen port (default: 5100; 0 = any)")
    f.add_argument("--key", default="test-key", help="API key it accepts (default: test-key)")
    f.add_argument("--seed", type=int, default=7, help="simulator seed (default: 7)")
    return p


async def _run(service: SpotlightService) -> None:
    async def on_signal() -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                logging.getLogger("spotlight").info(
                    "%s: shutting down gracefully", signal.Signals(signum).name
                )
                return

    async with trio.open_nursery() as nursery:
        url = await nursery.start(
            lambda task_status: serve(service, shutdown_trigger=on_signal, task_status=task_status)
        )
        _announce_access(service, url)
        logging.getLogger("spotlight").info(
            "Spotlight on %s (market: %s, %s; epoch %s)",
            url,
            service.source_kind,
            service.source_reason,
            service.epoch.id,
        )


def _announce_access(service: SpotlightService, url: str) -> None:
    """Tell the person at the terminal how to get in (Jupyter-style), or warn that anyone can."""
    access, log = service.access, logging.getLogger("spotlight")
    base = service.settings.auth.public_url or url
    if not access.enabled:
        log.warning(
            "SPOTLIGHT_AUTH=off: every endpoint is open to anyone who can reach %s "
            "(local development only)",
            url,
        )
    elif access.generated_pin is not None:
        pin = access.generated_pin
        print(
            f"\n    Spotlight PIN: {pin}   (generated for this run; SPOTLIGHT_PIN sets your own)"
            f"\n    One-click login: {base}/#pin={pin}\n",
            file=sys.stderr,
            flush=True,
        )


# Third-party loggers that would log every HTTP request at INFO (httpx: "HTTP Request: GET
# ..." per call, ~10,000 lines an hour in Massive mode) or every connection step at DEBUG
# (httpcore). Our own request log says the same at DEBUG and sums it up at INFO
# (market/massive/request_log.py).
# Libraries whose INFO lines are noise here: httpx/httpcore log every request (ours are
# summarized by market/massive/request_log.py), coredis each script's first load.
QUIET_LOGGERS = ("httpx", "httpcore", "coredis")


def configure_logging(level: str) -> None:
    """The server's logging: one format to stderr at ``level``; QUIET_LOGGERS at WARNING."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "fake-massive":
        return _fake_massive(args)
    if args.command == "settings":
        sys.stdout.write(markdown_table())
        return 0
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as exc:
        print(f"spotlight: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.host:
        settings = settings.derive(host=args.host)
    if args.port is not None:
        settings = settings.derive(port=args.port)
    configure_logging(settings.server.log_level)
    workers = settings.server.workers if args.workers is None else args.workers
    if not 1 <= workers <= MAX_WORKERS:
        print(
            f"spotlight: --workers must be between 1 and {MAX_WORKERS}, not {workers}",
            file=sys.stderr,
        )
        return 2
    if workers > 1:
        return _serve_workers(settings, workers)
    try:
        trio.run(_run, SpotlightService(settings))
    except Exception as exc:  # start-up errors and escalated failures: say it plainly
        leaf = _leaf(exc)
        if isinstance(leaf, OSError) and leaf.errno in (
            errno.EADDRINUSE,
            errno.EACCES,
            errno.EADDRNOTAVAIL,
        ):
            print(
                f"spotlight: cannot listen on "
                f"{settings.server.host}:{settings.server.port}: {leaf}",
                file=sys.stderr,
            )
        else:
            logging.getLogger("spotlight").critical("stopped: %s", describe(exc), exc_info=exc)
            print(f"spotlight: stopped: {describe(exc)}", file=sys.stderr)
        return 1
    return 0


def _serve_workers(settings: Settings, count: int) -> int:
    try:
        env, pin = worker_env(settings, os.environ)
    except (WorkerError, ValueError, OSError) as exc:
        print(f"spotlight: {exc}", file=sys.stderr)
        return 2
    announce(settings, count, pin)
    return trio.run(run_workers, count, env)


def _fake_massive(args: argparse.Namespace) -> int:
    from spotlight.testing.fake_massive import run_fake_massive

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        run_fake_massive(args.host, args.port, args.key, args.seed)
    except KeyboardInterrupt:
        return 0
    except Exception as exc:
        leaf = _leaf(exc)
        if isinstance(leaf, OSError):
            print(f"spotlight: cannot listen on {args.host}:{args.port}: {leaf}", file=sys.stderr)
        else:
            print(f"spotlight: fake-massive stopped: {describe(exc)}", file=sys.stderr)
        return 1
    return 0


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


if __name__ == "__main__":
    sys.exit(main())
