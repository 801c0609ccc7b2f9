"""The changes `chatnut install` can make, each shown before it is made.

A FileEdit holds a file's text before and after; it prints as a unified diff
(`--dry-run`), keeps a `.chatnut-backup` of the old file when applied, and is
dropped from the plan when it would change nothing (that is idempotence). A
Command is a client's own CLI (`claude mcp add ...`, `systemctl --user ...`).
Secrets are masked wherever a change is shown.

Nothing is written through a symbolic link (files.py): a link where a
config, rule or backup should be is refused by name before anything is
written, and with `--scope project` so is a linked directory inside the
project (a repository could ship `.gemini -> ~/.gemini`).
"""

from __future__ import annotations

import difflib
import shlex
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from chatnut.files import UnsafePath, read_regular, refuse_link, refuse_links_below, write_file

BACKUP_SUFFIX = ".chatnut-backup"


class InstallError(Exception):
    """A file we must not touch as it stands (unparsable, unexpected shape)."""


def mask(text: str, secret: str | None) -> str:
    return text.replace(secret, "****") if secret else text


def read_text(path: Path) -> str | None:
    try:
        return read_regular(path)
    except UnsafePath as exc:
        raise InstallError(f"{exc}; nothing was written there") from None


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

    def summary(self, secret: str | None) -> str:
        """One line: what happens to the file, and how many lines (the diff: --dry-run, -v)."""
        if self.after is None:
            return f"delete {self.path} ({self.why})\n"
        before = (self.before or "").splitlines()
        after = self.after.splitlines()
        added = removed = 0
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after).get_opcodes():
            if tag != "equal":
                removed += i2 - i1
                added += j2 - j1
        label = "create" if self.before is None else "change"
        return mask(f"{label} {self.path} ({self.why}): +{added} -{removed} lines\n", secret)

    @property
    def backup_path(self) -> Path:
        return self.path.with_name(self.path.name + BACKUP_SUFFIX)

    def check(self, project: Path | None) -> None:
        """Refuse (before anything is written) a link at any path this edit writes."""
        try:
            refuse_link(self.path)
            refuse_link(self.backup_path)
            if project is not None:
                refuse_links_below(self.path.parent, project)
        except UnsafePath as exc:
            raise InstallError(f"{exc}; nothing was written") from None

    def apply(self, secret: str | None = None) -> Path | None:
        """Write (or delete) the file; returns the backup made of the old one.

        A file that ends up holding `secret` (the token) is written 0600."""
        backup = None
        if self.before is not None and self.backup:
            backup = self.backup_path
            write_file(backup, self.before)  # 0600: the old file may hold a token
        if self.after is None:
            self.path.unlink(missing_ok=True)
            _remove_empty_dirs(self.path.parent)
            return backup
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.private or (secret and secret in self.after):
            mode = 0o600
        elif self.before is not None:
            mode = stat.S_IMODE(self.path.stat(follow_symlinks=False).st_mode)
        else:
            mode = 0o644
        write_file(self.path, self.after, mode)
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

    def summary(self, secret: str | None) -> str:
        return self.show(secret)

    def check(self, project: Path | None) -> None:
        pass  # the client's own command writes its own files

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
