"""Storage: one WAL-mode SQLite file (db.py), its migrations, and its SQL (queries.py)."""
