"""create_app(settings): the one ASGI application — MCP at /mcp/, REST at /api/, the UI at /.

The lifespan opens the database (migrating it), wires the store's commits to
the hub, starts the MCP session manager and the optional auto-archiver, and
closes everything in reverse on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from chatnut import __version__, metrics
from chatnut.admin_api import router as admin_router
from chatnut.api import install_error_handlers, router
from chatnut.browser import has_display, open_in_background
from chatnut.bundled_files import web_ui_dir
from chatnut.claims_api import router as claims_router
from chatnut.disconnect import ClientLeft, unless_client_leaves
from chatnut.edits_api import router as edits_router
from chatnut.errors import StorageUnavailable
from chatnut.feeds.slots import StreamSlots
from chatnut.health import (
    Draining,
    HealthEndpoints,
    MetricsListener,
    bounded_readiness,
    metrics_route,
)
from chatnut.http_limits import connection_bound
from chatnut.hub import Hub
from chatnut.mcp_tools import build_mcp
from chatnut.receipts_api import router as receipts_router
from chatnut.requests import RequestObserver
from chatnut.retention_api import router as retention_router
from chatnut.room_prefs_api import router as room_prefs_router
from chatnut.security import (
    AllowedNames,
    Authentication,
    BodyLimit,
    HostAndOrigin,
    PageHeaders,
    Scope,
    is_loopback,
    send_error,
)
from chatnut.service import ChatService
from chatnut.service.retention import RetentionJob, retention_forever
from chatnut.sessions_in_memory import ADMIN_KEY, OneTimeLinks, Sessions, Signin, session_cookie
from chatnut.sessions_signed import SignedLinks, SignedSessions
from chatnut.settings import Settings
from chatnut.sidebar_api import router as sidebar_router
from chatnut.signin_api import router as signin_router
from chatnut.store import StoreOpenError, open_store
from chatnut.stream_api import router as stream_router
from chatnut.threads_api import router as threads_router
from chatnut.throttle import AuthThrottle
from chatnut.tokens import SharedTokens
from chatnut.update_check import UpdateChecker

log = logging.getLogger(__name__)

AUTO_ARCHIVE_EVERY_SECONDS = 300
# Presence times are noted in memory on every call and saved this often (only
# the changed ones, each at most once a minute): a restart keeps them, and a
# read-only call never becomes a write.
SAVE_PRESENCE_EVERY_SECONDS = 10
# Bodies: the largest message plus JSON escaping (up to 6 bytes per character
# for \uXXXX) and the envelope. Anything larger cannot be a valid request.
BODY_OVERHEAD_BYTES = 64 * 1024


def is_team_server(settings: Settings) -> bool:
    """Several processes or hosts may serve this database's clients (a team server)."""
    return settings.workers > 1 or bool(settings.allowed_hosts) or settings.public_url is not None


def web_base(settings: Settings, port: int) -> str:
    if settings.public_url is not None:
        return settings.public_url
    host = settings.host
    if is_loopback(host) or host in {"0.0.0.0", "::", ""}:
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class ServerState:
    """What the transports share: built in create_app, opened in the lifespan."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.settings = settings
        self.port = port
        self.hub = Hub()
        # The shared tokens, replaced in place by a reload (tokens.py).
        self.tokens = SharedTokens(settings.tokens)
        # The database password from --db-password-file, replaced by a reload;
        # the store asks for it each time it opens a connection.
        self.db_password = settings.db_password
        # Set when this process is on its way out (a reload replacing it, or a
        # stop): /readyz says `stopping`, so balancers move on first.
        self.draining = False
        self.links = OneTimeLinks()
        self.sessions = Sessions()
        if settings.token is not None and is_team_server(settings):
            # Links and sessions that any worker or host checks for itself (sessions_signed.py).
            self.links = SignedLinks(settings.token)
            self.sessions = SignedSessions(settings.token)
        self.updates = UpdateChecker(enabled=settings.update_check, url=settings.update_url)
        self.startup_error = ""  # why the store would not open, when it would not
        self.streams = StreamSlots(
            settings.max_streams or connection_bound(settings.max_connections) // 2,
            settings.max_streams_per_client,
        )
        # The one place the backend is chosen: from the database's path or URL.
        self.store = open_store(
            settings.database,
            durability=settings.durability,
            on_commit=self._committed,
            owner={"pid": os.getpid(), "port": port},
            on_resync=self.hub.resync,
            keep_events=(settings.events_keep_seconds, settings.events_keep_rows),
            password=(lambda: self.db_password) if settings.db_password is not None else None,
        )
        self.service = ChatService(
            self.store,
            self.hub,
            max_message_bytes=settings.max_message_bytes,
            max_answer_bytes=settings.max_answer_bytes,
            max_waits=(settings.max_waits_per_room, settings.max_waits),
            teams_dir=settings.teams_dir,
            web_url=self.web_url,
            on_room_created=self._room_created,
            version_info=self.updates.info,
        )
        self.service.retention = RetentionJob(
            self.store, settings.retain_days or None, settings.home / "retention"
        )

    def _committed(self, events: list[Any]) -> None:
        # A revoked token leaves the lookup cache before anyone hears of it.
        self.service.tokens_cache.heard(events)
        self.hub.publish(events)

    def web_url(self, room_id: str | None) -> str:
        """The page's plain address (of a room). Never a sign-in link: init_room's and
        ping's answers land in agents' transcripts; links come from `chatnut open`."""
        base = web_base(self.settings, self.port)
        # ping's web_url is the bare base, as the original's.
        return base if room_id is None else f"{base}/?room={room_id}"

    def signin_url(self, target: str, holder: Signin = ADMIN_KEY) -> str:
        """A one-time sign-in link to `target` (a path of this server) for `holder`; the
        plain page address when there is nothing to sign in to."""
        base = web_base(self.settings, self.port)
        if self.settings.token is None:
            return base + target
        return base + self.links.mint(target, holder)

    async def readiness(self) -> str | None:
        """None when this process can serve; else the one word /readyz answers."""
        if self.draining or self.hub.closed:
            return "stopping"
        return await self.store.readiness()

    def _room_created(self, url: str) -> None:
        if self.settings.open_browser and has_display():
            open_in_background(url)


async def _save_presence(service: ChatService) -> None:
    while True:
        await asyncio.sleep(SAVE_PRESENCE_EVERY_SECONDS)
        try:
            await service.save_presence()
        except StorageUnavailable as exc:  # expected while the database restarts
            log.warning("saving presence failed: %s", exc.message)
        except Exception:
            log.exception("saving presence failed")


async def _auto_archive(service: ChatService, hours: float) -> None:
    while True:
        try:
            archived = await service.archive_idle_rooms(hours)
            if archived:
                log.info("auto-archived %d idle room(s)", len(archived))
        except StorageUnavailable as exc:
            log.warning("auto-archive pass failed: %s", exc.message)
        except Exception:
            log.exception("auto-archive pass failed")
        await asyncio.sleep(AUTO_ARCHIVE_EVERY_SECONDS)


async def _until_client_leaves(app: Any, scope: Scope, receive: Any, send: Any) -> None:
    """Run an MCP request, cancelling it the moment its client disconnects (a
    parked `wait_for_messages` otherwise holds on until its own timeout).

    BodyLimit (security/limits.py) has read the body whole, so after handing it
    over the real `receive` is left to the one watcher (disconnect.py).
    """
    first = await receive()
    if first["type"] != "http.request" or first.get("more_body", False):
        pending = [first]  # not a buffered body (or already gone): no watching

        async def passthrough() -> Any:
            return pending.pop() if pending else await receive()

        await app(scope, passthrough, send)
        return
    handed = False

    async def app_receive() -> Any:
        nonlocal handed
        if not handed:
            handed = True
            return first
        await anyio.sleep_forever()  # the watcher cancels the request when the client leaves

    with contextlib.suppress(ClientLeft):
        await unless_client_leaves(receive, app(scope, app_receive, send))


class _OneLineStartup:
    """A start-up refused for an expected reason fails in that one line.

    Starlette reports a failed start-up to uvicorn with the whole traceback as
    the message, which uvicorn logs: 60 to 90 lines around the one that says
    what is wrong (the database is down, its password is wrong, its driver is
    missing). For those, the message is the line itself.
    """

    def __init__(self, app: Any, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def sending(message: Any) -> None:
            if message["type"] == "lifespan.startup.failed" and self.state.startup_error:
                message = {**message, "message": self.state.startup_error}
            await send(message)

        await self.app(scope, receive, sending)


class _McpEndpoint:
    """Hand /mcp and /mcp/ straight to the MCP transport.

    Both spellings are served (a redirect is something clients may not follow),
    and an agent's call skips the REST router it has no business with: its
    routing layers were ~6% of a post's server time.
    """

    def __init__(self, app: Any, mcp_app: Any) -> None:
        self.app = app
        self.mcp_app = mcp_app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("path") in ("/mcp", "/mcp/"):
            if scope.get("method") == "GET":
                # The SDK would open an endless event stream; a stateless server
                # has nothing to push on it. 405 is MCP's way to say "no stream".
                await send_error(
                    send,
                    405,
                    "method_not_allowed",
                    "this MCP endpoint is stateless and pushes nothing: POST requests to it",
                    [(b"allow", b"POST")],
                )
                return
            scope = {**scope, "path": "/", "raw_path": b"/", "root_path": "/mcp"}
            await _until_client_leaves(self.mcp_app, scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(settings: Settings, port: int | None = None) -> FastAPI:
    state = ServerState(settings, settings.port if port is None else port)
    mcp = build_mcp(state.service)
    mcp_app = mcp.streamable_http_app(**mcp_http_options())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            applied = await state.store.open()
        except StoreOpenError as exc:
            # An expected fault (database down, bad credentials, no driver): the
            # one line a user can act on is all that is printed (_OneLineStartup).
            state.startup_error = str(exc)
            raise
        if applied:
            log.info("database %s migrated: %s", state.store.location, ", ".join(applied))
        if state.updates.enabled:
            state.updates.refresh_in_background()
        archiver = None
        if settings.auto_archive_hours > 0:
            archiver = asyncio.create_task(
                _auto_archive(state.service, settings.auto_archive_hours)
            )
        presence = asyncio.create_task(_save_presence(state.service))
        retention = asyncio.create_task(retention_forever(state.service.retention))
        metrics.started()
        sampler = asyncio.create_task(
            metrics.sample(state.store.pool_usage, lambda: bounded_readiness(state.readiness))
        )
        try:
            async with mcp.session_manager.run():
                yield
        finally:
            for task in (archiver, presence, sampler, retention):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            with contextlib.suppress(Exception):  # never block a shutdown on it
                await state.service.save_presence()
            await state.store.close()

    app = FastAPI(
        title="chatnut",
        version=__version__,
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.chatnut = state
    app.state.service = state.service
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(stream_router)
    app.include_router(sidebar_router)
    app.include_router(room_prefs_router)
    app.include_router(metrics_route)
    app.include_router(admin_router)
    app.include_router(retention_router)
    app.include_router(signin_router)
    app.include_router(receipts_router)
    app.include_router(edits_router)
    app.include_router(claims_router)
    app.include_router(threads_router)
    app.mount("/", StaticFiles(directory=web_ui_dir(), html=True), name="web-ui")
    # The guards, innermost first (the last one added runs first).
    app.add_middleware(_OneLineStartup, state=state)
    app.add_middleware(_McpEndpoint, mcp_app=mcp_app)
    app.add_middleware(PageHeaders)
    app.add_middleware(
        BodyLimit,
        max_body_bytes=settings.max_message_bytes * 6 + BODY_OVERHEAD_BYTES,
        max_message_bytes=settings.max_message_bytes,
        body_seconds=settings.body_timeout,
    )
    app.add_middleware(
        Authentication,
        token=settings.token,
        sessions=state.sessions,
        tokens=state.service.tokens_cache,
        cookie=session_cookie(settings.public_url),
        throttle=AuthThrottle()
        if is_team_server(settings) or not is_loopback(settings.host)
        else None,
        shared=state.tokens,
    )
    app.add_middleware(
        HostAndOrigin,
        configured_host=settings.host,
        allowed=AllowedNames(settings.allowed_hosts, settings.public_url),
    )
    metrics_port = settings.metrics_listen[1] if settings.metrics_listen else None
    app.add_middleware(MetricsListener, port=metrics_port)
    app.add_middleware(HealthEndpoints, readiness=state.readiness)
    app.add_middleware(Draining, draining=lambda: state.draining)
    # Outermost: every request is counted (and logged), refusals included.
    app.add_middleware(RequestObserver, log_requests=settings.log_format == "json")
    return app


def mcp_http_options() -> dict[str, Any]:
    from mcp.server.transport_security import TransportSecuritySettings

    return {
        "streamable_http_path": "/",
        # Stateless: no session a restart could invalidate (clients such as Claude
        # Code do not start a new one after a 404 for a stale session id).
        "stateless_http": True,
        # Plain JSON answers: one round trip, nothing to keep open per call.
        "json_response": True,
        # Host/Origin are checked, stricter, by HostAndOrigin for every route.
        "transport_security": TransportSecuritySettings(enable_dns_rebinding_protection=False),
    }
