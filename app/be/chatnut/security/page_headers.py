"""The policy headers every answer of ours carries: no sniffing, no referrer, no framing, a CSP."""

from __future__ import annotations

from chatnut.security.asgi import ASGIApp, Message, Receive, Scope, Send

# The page loads only its own files and talks only to this server; highlighted
# code is styled by classes, so no inline style or script is ever needed.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
# FastAPI's interactive docs page loads Swagger UI from a CDN; it is a
# developer's tool, so it keeps its own (absent) policy.
DOCS_PATH = "/api/docs"


class PageHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.everywhere = [
            *PAGE_HEADERS,
            (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = PAGE_HEADERS if scope.get("path") == DOCS_PATH else self.everywhere

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, sending)
