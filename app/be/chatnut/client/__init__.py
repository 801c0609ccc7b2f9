"""Client-side helpers shared by the CLI and the stdio bridge.

Finding the server this home runs (endpoint.py), starting and stopping it
(server.py), and calling it over MCP (mcp.py). Only loopback, never through
a proxy.
"""
