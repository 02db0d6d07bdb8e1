"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hubbub import __version__
from hubbub.a2a import outbound as a2a_outbound
from hubbub.bus import bus_for
from hubbub.core.errors import Unavailable
from hubbub.core.hub import Hub
from hubbub.core.ratelimit import RateLimiter
from hubbub.mcp.mount import McpEndpoint
from hubbub.server import endpoints, openapi, problems, routes
from hubbub.server.bodylimit import BodyLimit
from hubbub.server.dispatch import HubApp, RouteTable
from hubbub.server.metrics import Metrics
from hubbub.server.provision import provision
from hubbub.server.uploads import UPLOAD_PATHS
from hubbub.server.webhooks import HttpPoster
from hubbub.settings import Settings
from hubbub.store import open_store
from hubbub.web import app as web

DESCRIPTION = """\
Hubbub is a message hub for AI agents and their humans: channels, DMs, @mentions, a durable
inbox, read cursors and search. Authenticate with `Authorization: Bearer <key>` and name the
acting agent with `X-Hubbub-Agent`. Errors are RFC 9457 problem+json with a stable `code`.
"""


def _a2a_routes(cfg: Settings, hub: Hub) -> list[BaseRoute]:
    """The A2A gateway's routes when ``a2a_enabled`` (the a2a-sdk is imported only then)."""
    if not cfg.a2a_enabled:
        return []
    try:
        from hubbub.a2a.inbound import routes as a2a_routes
    except ImportError as error:
        raise Unavailable(
            f"a2a_enabled needs the a2a-sdk package ({error.name} is missing): install "
            "hubbub[a2a], e.g. pip install 'hubbub[a2a]'",
            code="a2a_unavailable",
        ) from None
    return a2a_routes(cfg, hub)


def create_app(
    settings: Settings | None = None,
    *,
    url: str | None = None,
    config_path: Path | None = None,
) -> Starlette:
    """The hub as an ASGI app. With ``url`` and ``config_path`` set (as ``hubbub serve`` does)
    and provisioning on, the first start writes the local client config."""
    cfg = settings or Settings()
    hub = Hub(
        open_store(
            cfg.db,
            synchronous=cfg.synchronous,
            readers=cfg.readers,
            pool_min=cfg.postgres_pool_min,
            pool_max=cfg.postgres_pool_max,
            statement_timeout=cfg.postgres_statement_timeout_seconds,
            migrate=cfg.migrate,
            lock_timeout=cfg.lock_timeout_seconds,
        ),
        cfg.limits(),
        bus=bus_for(cfg.db),
        cache_seconds=cfg.credential_cache_seconds,
        webhooks=cfg.webhook_policy(),
        outbound=cfg.outbound_policy(),
        sessions=cfg.session_policy(),
    )
    table = routes.endpoints()
    runners = endpoints.runners(table)
    mcp = McpEndpoint(cfg)

    @functools.cache
    def spec() -> bytes:
        # Built on first request: generating every schema costs start-up time.
        document = openapi.document(
            table,
            title="Hubbub",
            version=__version__,
            description=DESCRIPTION,
            limits=cfg.limits(),
        )
        return orjson.dumps(document)

    async def openapi_json(request: Request) -> Response:
        return Response(spec(), media_type="application/json")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await hub.open()
        await hub.sessions.secret()  # the hub secret exists from the first start on
        if cfg.provision and url is not None and config_path is not None:
            app.state.provisioned = await provision(hub, url, config_path, cfg.machine)
        stop = asyncio.Event()
        sweeper = asyncio.create_task(hub.maintain(stop), name="maintenance")
        poster = HttpPoster(cfg.webhook_timeout_seconds, hub.outbound)
        sender = asyncio.create_task(hub.webhooks.run(stop, poster), name="webhooks")
        forwarder = a2a_outbound.forwarder(
            hub.outbound,
            hub.a2a_remotes.policy.timeout_seconds,
            hub.a2a_remotes.policy.follow_seconds,
        )
        forwarding = None  # without the hubbub[a2a] extra, nothing is forwarded (said once)
        if forwarder is not None:
            hub.a2a_remotes.forwarder = forwarder  # registering works from the first request
            forwarding = asyncio.create_task(hub.a2a_remotes.run(stop, forwarder), name="a2a")
        try:
            async with mcp.running(app):
                yield
        finally:
            stop.set()
            await sweeper
            await sender  # lets attempts under way finish while the store is still open
            if forwarding is not None:
                await forwarding
            await poster.aclose()
            await hub.close()

    body_limit = functools.partial(
        BodyLimit,
        max_bytes=cfg.max_body_bytes,
        uploads=UPLOAD_PATHS,
        max_upload_bytes=cfg.max_file_bytes + cfg.max_body_bytes,
    )
    limiter = RateLimiter(cfg.rate_limit, cfg.rate_burst)
    metrics = Metrics(hub, limiter)
    app = HubApp(
        api=RouteTable(runners),
        limit=body_limit,
        metrics=metrics,
        request_ids=cfg.log_format == "json",
        routes=[
            *endpoints.routes(runners),
            Route("/openapi.json", openapi_json),
            Route("/metrics", metrics.endpoint),
            Route("/mcp", mcp),  # MCP over streamable HTTP, after the REST routes
            *_a2a_routes(cfg, hub),  # A2A cards and endpoints, when enabled
            *web.routes(cfg),  # the dashboard, signed in with a session cookie
        ],
        middleware=[
            Middleware(body_limit),
            Middleware(web.SecurityHeaders),
        ],
        exception_handlers={**problems.handlers(), **web.handlers()},
        lifespan=lifespan,
    )
    # A trailing slash is a 404 like any unknown path: the redirect Starlette would answer is
    # built from the Host header, which the client controls.
    app.router.redirect_slashes = False
    app.state.hub = hub
    app.state.settings = cfg
    app.state.limiter = limiter
    app.state.provisioned = None
    app.state.endpoints = table
    return app


__all__ = ["create_app"]
