"""Writing files without following links someone else planted:
a link where a config or a backup goes would redirect our write onto any file
the user can write.

A repository can ship `AGENTS.md.chatnut-backup -> ~/.bashrc`, a shared
directory can hold a dangling link where `chatnut export -o` or `backup` is
told to write. So every file chatnut writes is made under a random name in
its own directory with O_CREAT|O_EXCL|O_NOFOLLOW (what `tempfile.mkstemp`
does) and renamed into place (rename replaces a link, never writes through
it), and a link already standing where the file should be is refused by
name. Files are created 0600 unless told otherwise: they hold chats, or a
token.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

PRIVATE = 0o600


class UnsafePath(OSError):
    """A path chatnut will not write through (a symbolic link stands there)."""


def refuse_link(path: Path) -> None:
    if path.is_symlink():
        raise UnsafePath(
            f"{path} is a symbolic link; chatnut does not write through links"
            " (remove it, or choose another path)"
        )


def refuse_links_below(path: Path, root: Path) -> None:
    """`path` and every directory between it and `root` (exclusive) must not be links."""
    current = path
    while current != root and root in current.parents:
        refuse_link(current)
        current = current.parent


@contextlib.contextmanager
def temp_beside(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A fresh, empty 0600 file in `path`'s directory, removed unless renamed away."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
    finally:
        temp.unlink(missing_ok=True)


def write_file(path: Path, data: str | bytes, mode: int = PRIVATE) -> None:
    """Replace `path` with `data` at once; a reader sees the old file or the new one."""
    refuse_link(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with temp_beside(path) as temp:
        with open(temp, "r+b") as handle:
            handle.write(raw)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
        os.replace(temp, path)


def create_file(path: Path, data: str | bytes, mode: int = PRIVATE) -> None:
    """Write a new file; an existing file or link at `path` (even a dangling one) is refused."""
    refuse_link(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with temp_beside(path) as temp:
        temp.write_bytes(raw)
        os.chmod(temp, mode)
        # link(2) never replaces what is there: no window where a file
        # appearing at `path` is overwritten.
        try:
            os.link(temp, path, follow_symlinks=False)
        except FileExistsError:
            raise FileExistsError(f"{path} exists") from None


def read_regular(path: Path) -> str | None:
    """A file's text (None when absent), refusing to read through a link."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if path.is_symlink():
            refuse_link(path)
        raise exc
    with os.fdopen(fd, encoding="utf-8") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise UnsafePath(f"{path} is not a regular file")
        return handle.read()


def private_dir(path: Path) -> None:
    """Create (or tighten) a directory only its owner can enter."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != 0o700 and path.stat().st_uid == os.getuid():
        path.chmod(0o700)
