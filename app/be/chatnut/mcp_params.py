"""What every module of MCP tools shares: the boolean guard on numbers and the
tool annotations, so mcp_tools.py and mcp_claims.py both import them from
here and neither imports the other for them."""

from __future__ import annotations

from mcp_types import ToolAnnotations
from pydantic import BeforeValidator

from chatnut import validation as check

# Booleans are refused before pydantic's lax mode turns `true` into 1; every
# id is bounded, so 2**63 is a one-line refusal naming the parameter.
NoBool = BeforeValidator(check.not_boolean)

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
DESTROYS = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)
