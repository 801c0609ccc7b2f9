"""How a tools/call is checked and how its failures read.

`ChatnutMCP` is the SDK's MCPServer with two changes an agent notices:
* arguments a tool does not have are refused, naming the valid ones (the
  SDK would silently drop them, and a misspelt `since_id` would read the
  whole room);
* every failure is one line the agent can act on: a domain error keeps its
  own message, an argument that fails the schema is named with what is
  wrong, instead of the SDK's multi-line pydantic dump behind a prefix.
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, Tool
from pydantic import ValidationError

from chatnut import metrics, requests
from chatnut.errors import ChatnutError
from chatnut.principals import ANYONE, Caller, caller_in

log = logging.getLogger(__name__)

# Who made the tools/call being run: set from the HTTP request's scope (where
# authentication put it) for the length of the call, read by each tool.
_CALLER: ContextVar[Caller] = ContextVar("chatnut_caller", default=ANYONE)


def caller() -> Caller:
    return _CALLER.get()


def _caller_of(context: Any) -> Caller:
    request_context = getattr(context, "_request_context", None)
    request = getattr(request_context, "request", None)
    scope = getattr(request, "scope", None)
    return ANYONE if scope is None else caller_in(scope)


def describe_validation_error(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False):
        name = ".".join(str(p) for p in item.get("loc", ())) or "arguments"
        message = str(item.get("msg", "is invalid"))
        if item.get("type") == "missing":
            parts.append(f"{name} is required")
        elif item.get("type") == "string_unicode":
            parts.append(f"{name} contains a lone surrogate (not valid Unicode text)")
        else:
            parts.append(f"{name}: {message[:1].lower()}{message[1:]}")
    return "invalid arguments — " + "; ".join(parts)


def _without_titles(schema: Any) -> Any:
    """Drop pydantic's generated `title`s: they repeat the names and cost agents context."""
    if isinstance(schema, list):
        return [_without_titles(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    cleaned = {}
    for key, value in schema.items():
        if key == "title":
            continue
        if key in {"properties", "$defs"} and isinstance(value, dict):
            cleaned[key] = {name: _without_titles(sub) for name, sub in value.items()}
        else:
            cleaned[key] = _without_titles(value)
    return cleaned


def _plain(schema: Any, defs: dict[str, Any]) -> Any:
    """The same schema in its plainest words: `$ref`s to `$defs` written out in
    place, and "X or null" as `type: [X, "null"]` rather than an `anyOf`.

    `additionalProperties: true`, the default, goes. It means exactly the
    same, reads shorter in an agent's context, and a client
    that validates every result (the official SDK's does) checks a 10 000-room
    list in about half the time: no reference to resolve per item, no
    alternatives to try per field.
    """
    if isinstance(schema, list):
        return [_plain(item, defs) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and len(schema) == 1:
        return _plain(defs[ref.removeprefix("#/$defs/")], defs)
    options = schema.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        merged = _merged_types([_plain(o, defs) for o in options])
        if merged is not None:
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            return {**rest, **merged}
    # `additionalProperties: true` is JSON Schema's default: saying it says nothing.
    return {
        k: _plain(v, defs)
        for k, v in schema.items()
        if k != "$defs" and not (k == "additionalProperties" and v is True)
    }


def _merged_types(options: list[Any]) -> dict[str, Any] | None:
    """["X or Y or null"] as one `type` list, when each option is one type and
    their other keywords do not overlap (each keyword then only ever applies to
    its own type: `items` to arrays, `minimum` to numbers). Else None."""
    types: list[str] = []
    merged: dict[str, Any] = {}
    for option in options:
        if not isinstance(option, dict) or not isinstance(option.get("type"), str):
            return None
        if option["type"] in types or (set(option) - {"type"}) & set(merged):
            return None
        types.append(option["type"])
        merged.update({k: v for k, v in option.items() if k != "type"})
    return {**merged, "type": types}


def plain_schema(schema: dict[str, Any]) -> dict[str, Any]:
    cleaned = _without_titles(schema)
    plain: dict[str, Any] = _plain(cleaned, cleaned.get("$defs", {}))
    return plain


class ChatnutMCP(MCPServer):
    async def list_tools(self) -> list[Tool]:
        tools = await super().list_tools()
        for tool in tools:
            tool.input_schema = {
                **_without_titles(tool.input_schema),
                "additionalProperties": False,
            }
            if tool.output_schema is not None:
                tool.output_schema = plain_schema(tool.output_schema)
        return tools

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        tool = self._tool_manager.get_tool(name)
        # A name no tool has is counted as "unknown": label values stay a known set.
        observed = name if tool is not None else "unknown"
        began = time.perf_counter()
        outcome = "error"
        try:
            result = await self._checked_call(tool, name, arguments, context)
            outcome = "ok"
        finally:
            metrics.MCP_CALLS.labels(observed, outcome).inc()
            metrics.MCP_CALL_SECONDS.labels(observed).observe(time.perf_counter() - began)
            requests.note_tool(observed, outcome)
        if isinstance(result, CallToolResult) and result.structured_content is not None:
            # The text mirror of the result, compact as the original's: the SDK
            # indents it, and agents pay for every space in context.
            text = json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":"))
            result.content = [TextContent(type="text", text=text)]
        return result

    async def _checked_call(
        self, tool: Any, name: str, arguments: dict[str, Any], context: Any
    ) -> Any:
        if tool is not None:
            valid = list(tool.parameters.get("properties", {}))
            unknown = sorted(set(arguments) - set(valid))
            if unknown:
                raise ToolError(
                    f"{name} has no argument(s) {', '.join(map(repr, unknown))};"
                    f" valid: {', '.join(valid) or '(none)'}"
                )
        bound = _CALLER.set(_caller_of(context).as_transport("mcp"))
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ChatnutError):
                raise ToolError(cause.message) from cause
            if isinstance(cause, ValidationError):
                raise ToolError(describe_validation_error(cause)) from cause
            raise
        finally:
            _CALLER.reset(bound)
