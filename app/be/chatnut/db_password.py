"""`--db-password-file`: the PostgreSQL password, read from a file only its owner reads.

A password in the database URL shows in `ps`, in the unit file and in the
shell's history; a file the server reads does not. The file is refused, in
one line and before anything starts, unless it is safe to trust:

* a regular file owned by the user the server runs as, with no permission
  for group or others (0600 or 0400);
* reached directly, or through links that stay inside the folder the path
  names (a Kubernetes secret volume's `..data/` links do); a link anywhere
  else is refused;
* one line (a final newline is dropped), at most MAX_BYTES, not empty.

The password read never goes into a log, an error, `chatnut status` or
Settings' repr. `chatnut reload` reads the file again: connections opened
after it use the new password (ones already open stay, as PostgreSQL keeps
an authenticated session whatever the role's password becomes).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_BYTES = 1024
FLAG = "--db-password-file"


def read_password_file(path: Path) -> str:
    """The password in `path`; ValueError (one line, never the password) if refused."""
    target = _inside_own_folder(path)
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise ValueError(f"{FLAG}: cannot read {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{FLAG}: {path} is not a regular file")
        if info.st_uid != os.geteuid():
            raise ValueError(
                f"{FLAG}: {path} belongs to uid {info.st_uid}, not to the user the server "
                f"runs as (uid {os.geteuid()})"
            )
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise ValueError(
                f"{FLAG}: {path} is readable by others (mode {mode:04o}); "
                f"make it the owner's only: chmod 600 {path}"
            )
        raw = os.read(fd, MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        raise ValueError(f"{FLAG}: {path} is longer than {MAX_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{FLAG}: {path} is not UTF-8 text") from None
    password = text.removesuffix("\n").removesuffix("\r")
    if not password:
        raise ValueError(f"{FLAG}: {path} is empty")
    if "\n" in password or "\r" in password:
        raise ValueError(f"{FLAG}: {path} holds more than one line (the password is one line)")
    return password


def _inside_own_folder(path: Path) -> Path:
    """The file `path` names, refused when a link takes it out of its folder."""
    folder = path.parent.resolve()
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:
        raise ValueError(f"{FLAG}: {path} does not exist") from None
    except (OSError, RuntimeError) as exc:
        raise ValueError(f"{FLAG}: cannot read {path}: {exc}") from None
    if real != folder / path.name and not real.is_relative_to(folder):
        raise ValueError(
            f"{FLAG}: {path} is a link to {real}, outside its folder; name the file itself"
        )
    return real
