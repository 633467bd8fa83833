"""The web client's third-party files, served from the repository's ``node_modules``.

The page (spotlight/web/static/) is plain ES modules; its one dependency, TradingView's
lightweight-charts, is installed from npm by ``bash .ci/setup`` (``npm ci``, pinned in
package-lock.json) and served here at a stable path, so nothing is loaded from a CDN and the
page works offline:

- ``GET /static/vendor/lightweight-charts.mjs``: the library's standalone ES module build.

The path is under ``/static/``, which the access gate leaves public (the login page loads
before there is a session). When ``node_modules`` is missing the route answers 503
``client_assets_missing`` with the fix, and the server logs the same hint once; the page
shows it instead of a chart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from quart import Quart, Response, request

from spotlight.web.errors import ApiError

__all__ = ["VENDOR_FILES", "VendorFile", "find_node_modules", "install_client_asset_routes"]

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
SETUP_HINT = "run `bash .ci/setup` (it runs `npm ci` at the repository root)"


@dataclass(frozen=True, slots=True)
class VendorFile:
    url: str  # the stable path the page imports
    package: str  # npm package name
    relpath: str  # file inside the package
    content_type: str


VENDOR_FILES = (
    VendorFile(
        url="/static/vendor/lightweight-charts.mjs",
        package="lightweight-charts",
        relpath="dist/lightweight-charts.standalone.production.mjs",
        content_type="text/javascript; charset=utf-8",
    ),
)


def find_node_modules(candidates: tuple[Path, ...] | None = None) -> Path | None:
    """The first ``node_modules`` directory among the candidates (repo root, then cwd)."""
    for base in candidates or (REPO_ROOT, Path.cwd()):
        path = base / "node_modules"
        if path.is_dir():
            return path
    return None


def install_client_asset_routes(app: Quart, node_modules: Path | None = None) -> None:
    warned: set[str] = set()

    def resolve(vendor: VendorFile) -> Path:
        base = node_modules if node_modules is not None else find_node_modules()
        path = base / vendor.package / vendor.relpath if base is not None else None
        if path is None or not path.is_file():
            where = str(path) if path is not None else f"node_modules/{vendor.package}"
            if vendor.url not in warned:
                warned.add(vendor.url)
                log.warning(
                    "web client asset %s is missing (%s): %s", vendor.url, where, SETUP_HINT
                )
            raise ApiError(
                503,
                "client_assets_missing",
                f"{vendor.package} is not installed ({where} not found): {SETUP_HINT}",
            )
        return path

    for vendor in VENDOR_FILES:

        async def serve(vendor: VendorFile = vendor) -> Response:
            path = resolve(vendor)
            try:
                stat = path.stat()
                etag = f'"{vendor.package}-{stat.st_size:x}-{stat.st_mtime_ns:x}"'
                if request.headers.get("If-None-Match") == etag:
                    response = Response(b"", status=304)
                else:
                    response = Response(path.read_bytes(), content_type=vendor.content_type)
            except OSError as exc:
                raise ApiError(
                    503, "client_assets_missing", f"cannot read {path}: {exc}; {SETUP_HINT}"
                ) from None
            # Revalidate each load (cheap: 304), so an upgrade by `npm ci` shows at once.
            response.headers["Cache-Control"] = "no-cache"
            response.headers["ETag"] = etag
            return response

        app.add_url_rule(
            vendor.url, endpoint=f"vendor:{vendor.package}", view_func=serve, methods=["GET"]
        )
