"""The size of the `tools/list` answer agents pay for in context.

Prints the tool count and the answer's size as compact JSON (what goes over
the wire) and as `json.dumps` writes it (what tests/test_mcp_tools.py bounds).

    python -m bench.tools_list
"""

from __future__ import annotations

import asyncio
import json

from mcp import Client

from chatnut.mcp_tools import build_mcp


async def measure() -> tuple[int, int, int]:
    async with Client(build_mcp(None), mode="legacy") as client:  # type: ignore[arg-type]
        tools = (await client.list_tools()).tools
    dumped = [t.model_dump(by_alias=True, exclude_none=True) for t in tools]
    compact = len(json.dumps({"tools": dumped}, separators=(",", ":")).encode())
    return len(tools), compact, len(json.dumps(dumped).encode())


def main() -> None:
    count, compact, spaced = asyncio.run(measure())
    print(f"{count} tools: {compact} bytes compact, {spaced} bytes as json.dumps writes it")


if __name__ == "__main__":
    main()
