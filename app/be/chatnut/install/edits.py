"""The changes `chatnut install` can make, each shown before it is made.

A FileEdit holds a file's text before and after; it prints as a unified diff
(`--dry-run`), keeps a `.chatnut-backup` of the old file when applied, and is
dropped from the plan when it would change nothing (that is idempotence). A
Command is a client's own CLI (`claude mcp add ...`, `systemctl --user ...`).
Secrets are masked wherever a change is shown.
"""

from __future__ import annotations

import difflib
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

BACKUP_SUFFIX = ".chatnut-backup"


class InstallError(Exception):
    """A file we must not touch as it stands (unparsable, unexpected shape)."""


def mask(text: str, secret: str | None) -> str:
    return text.replace(secret, "****") if secret else text


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


@dataclass
class FileEdit:
    path: Path
    before: str | None  # None: the file does not exist
    after: str | None  # None: delete the file
    why: str
    private: bool = False  # holds a secret: written 0600
    backup: bool = True  # False for a file that is all ours, unedited: nothing to keep

    @property
    def changes(self) -> bool:
        return self.before != self.after

    def show(self, secret: str | None) -> str:
        if self.after is None:
            return f"delete {self.path} ({self.why})\n"
        label = "create" if self.before is None else "change"
        diff = difflib.unified_diff(
            (self.before or "").splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            fromfile=str(self.path) if self.before is not None else "/dev/null",
            tofile=str(self.path),
        )
        lines = [line if line.endswith("\n") else line + "\n" for line in diff]
        return f"{label} {self.path} ({self.why})\n" + mask("".join(lines), secret)

    def apply(self) -> Path | None:
        """Write (or delete) the file; returns the backup made of the old one."""
        backup = None
        if self.before is not None and self.backup:
            backup = self.path.with_name(self.path.name + BACKUP_SUFFIX)
            shutil.copy2(self.path, backup)
        if self.after is None:
            self.path.unlink(missing_ok=True)
            _remove_empty_dirs(self.path.parent)
            return backup
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temp.write_text(self.after, encoding="utf-8")
        if self.private:
            temp.chmod(0o600)
        elif self.before is not None:
            shutil.copymode(self.path, temp)
        temp.replace(self.path)
        return backup


def _remove_empty_dirs(directory: Path) -> None:
    # Only the skill folder we made: stop at the first directory with anything in it.
    while directory.name in {"chatnut"} and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent


@dataclass
class Command:
    argv: list[str]
    why: str
    may_fail: bool = False  # e.g. unloading a service that was not loaded
    changes: bool = field(default=True, init=False)

    def show(self, secret: str | None) -> str:
        return f"run {mask(shlex.join(self.argv), secret)} ({self.why})\n"

    def apply(self) -> None:
        executable = shutil.which(self.argv[0])
        if executable is None:
            raise InstallError(f"{self.argv[0]} is not on PATH; run it yourself: {self.argv}")
        result = subprocess.run(
            [executable, *self.argv[1:]], capture_output=True, text=True, timeout=60
        )
        if result.returncode != 0 and not self.may_fail:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise InstallError(
                f"`{self.argv[0]} {' '.join(self.argv[1:3])}` failed"
                + (f": {detail[-1]}" if detail else f" (exit {result.returncode})")
            )


Change = FileEdit | Command


def whole_file(path: Path, ours: str, installing: bool, why: str) -> FileEdit:
    """A file that is entirely ours (a rule, the skill): written as is, or removed.

    Backed up only when someone edited it (it differs from what we write)."""
    before = read_text(path)
    after = ours if installing else None
    return FileEdit(path, before, after, why, backup=before is not None and before != ours)
