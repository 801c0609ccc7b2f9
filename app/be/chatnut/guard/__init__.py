"""The git guard: a pre-commit hook that refuses commits touching others' claims.

install.py writes and removes the hook; hook.py is what the hook runs at
every commit (standard library only, so it starts fast).
"""
