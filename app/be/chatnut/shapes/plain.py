"""How a part of a result is declared in tools/list when its full schema would
cost every agent context for little: as a plain object or array.

Only the validation schema (what the MCP SDK publishes as a tool's output
schema) is plain; the serialization schema (what FastAPI writes into the
REST API's OpenAPI document) stays the part's full shape. Shapes keep their
explanations in comments, not docstrings: pydantic would publish a docstring
as a description in tools/list too.
"""

from __future__ import annotations

from pydantic import WithJsonSchema

PLAIN_OBJECT = WithJsonSchema({"type": "object"}, mode="validation")
PLAIN_OR_NULL = WithJsonSchema({"type": ["object", "null"]}, mode="validation")
PLAIN_ARRAY = WithJsonSchema({"type": "array"}, mode="validation")
PLAIN_LIST = WithJsonSchema({"type": "array", "items": {"type": "object"}}, mode="validation")
