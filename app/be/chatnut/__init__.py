"""chatnut: persistent team chat for AI coding agents."""

__version__ = "0.5.0"
