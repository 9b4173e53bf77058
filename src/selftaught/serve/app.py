"""The web app of `selftaught serve`: Starlette routes over a read-only store.

Every page is whole HTML (a snapshot that needs no JavaScript); with `?live=VERSION` the
same address answers 204 while the store has nothing new for it, or the page's parts as
JSON for live.js to put in place. Every asset is package data: nothing is fetched from
another host.
"""

from __future__ import annotations

import time
from importlib import resources

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from selftaught.serve.access import PAGE_POLICY, Access
from selftaught.serve.pages import NotFound, Page, Pages
from selftaught.serve.readonly import ReadOnlyStore
from selftaught.serve.rendering import environment

LIVE_SCRIPT = resources.files("selftaught.serve").joinpath("static", "live.js").read_text(encoding="utf-8")


def create_app(store: ReadOnlyStore, token: str | None = None) -> ASGIApp:
    """The app over `store`; `token`: required on every request (None: loopback only, no token)."""
    pages = Pages(store)

    async def respond(request: Request, version_of, build) -> Response:
        """The page from `build()`, or for a live poll: 204 when `version_of()` has not moved."""
        since = request.query_params.get("live")
        try:
            if since is not None and await run_in_threadpool(version_of) == since:
                return Response(status_code=204)
            page: Page = await run_in_threadpool(build)
        except NotFound as exc:
            return _message(404, "not found", str(exc))
        if since is not None:  # only the parts that changed since the page's version
            address = request.url.path + "?" + _without_live(request)
            parts = pages.changed_parts(address, since, page)
            order = [name for name, _ in page.parts]
            return JSONResponse({"version": page.version, "order": order, "parts": parts})
        pages.changed_parts(request.url.path + "?" + _without_live(request), "", page)
        return HTMLResponse(_page(page, live=True))

    async def runs(request: Request) -> Response:
        return await respond(request, lambda: pages.version("runs"), pages.runs)

    async def run(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        return await respond(request, lambda: pages.version("run", run_id), lambda: pages.run(run_id))

    async def compare(request: Request) -> Response:
        query = request.query_params
        a, b, experiment = query.get("a"), query.get("b"), query.get("run")
        if experiment and a and b:
            return await respond(
                request,
                lambda: pages.version("run", experiment),
                lambda: pages.compare_arms(experiment, a, b),
            )
        if a and b:
            return await respond(
                request, lambda: pages.version("run", a, b), lambda: pages.compare_runs(a, b)
            )
        return await respond(request, lambda: pages.version("runs"), pages.runs)

    async def text(request: Request) -> Response:
        run_id, digest = request.path_params["run_id"], request.path_params["digest"]
        if "live" in request.query_params:
            return Response(status_code=204)  # a stored text never changes
        try:
            page = await run_in_threadpool(pages.text, run_id, digest)
        except NotFound as exc:
            return _message(404, "not found", str(exc))
        return HTMLResponse(_page(page, live=False))

    async def live_script(request: Request) -> Response:
        return Response(LIVE_SCRIPT, media_type="text/javascript")

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204)  # no icon, and no 404 in the browser's console

    app = Starlette(
        routes=[
            Route("/", runs, methods=["GET"]),
            Route("/runs/{run_id}", run, methods=["GET"]),
            Route("/runs/{run_id}/texts/{digest}", text, methods=["GET"]),
            Route("/compare", compare, methods=["GET"]),
            Route("/static/live.js", live_script, methods=["GET"]),
            Route("/favicon.ico", no_icon, methods=["GET"]),
        ]
    )
    return Access(app, token)


def _without_live(request: Request) -> str:
    return "&".join(
        f"{k}={v}" for k, v in sorted(request.query_params.multi_items()) if k not in ("live", "token")
    )


def _page(page: Page, live: bool) -> str:
    return (
        environment()
        .get_template("base.html.j2")
        .render(
            title=page.title,
            policy=PAGE_POLICY,
            heading=page.heading,
            parts=page.parts,
            version=page.version,
            side_by_side=page.side_by_side,
            live=live,
            now=time.time(),
            packed_script="",
        )
    )


def _message(status: int, title: str, message: str) -> HTMLResponse:
    html = environment().get_template("message.html.j2").render(title=title, message=message)
    return HTMLResponse(html, status_code=status)
