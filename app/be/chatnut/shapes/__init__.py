"""Every result shape chatnut hands out, declared once, one module per concern.

The store builds them (store/rows.py), the service returns them, the MCP
tools declare them as their output schemas and the REST routes as their
response models, so `/api/openapi.json` and `tools/list` describe the same
answers. They are `typing_extensions.TypedDict`s (pydantic needs that on
Python < 3.12): plain dicts at run time, checked by mypy, and a field added
with `NotRequired` appears only where it is set, so the original contract's
results stay exactly as they were.
"""
