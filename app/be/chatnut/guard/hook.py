"""The git guard's check, run by the pre-commit hook `chatnut guard install` writes.

It asks the chatnut server whether any staged file falls under another
agent's live exclusive claim in the project, and refuses the commit naming
the holder, the claimed patterns, the files and the expiry. It never stands
in the way of work when it cannot tell: an unreachable server, a refused
question or anything unexpected is one line of warning and the commit goes
through. `CHATNUT_GUARD=off` skips it; `CHATNUT_AGENT` names who is
committing (else the `--agent` it was installed with; with neither, every
exclusive claim counts).

Every commit pays for this file's start-up, so it is run as a script with
`python -I -S` (no site packages, nothing from the environment) and imports
only `json`, `os`, `socket`, `subprocess` and `sys`: the request is plain
HTTP/1.1 over a socket (https only loads `http.client` and `ssl` when used).
It finds the local server as the CLI does (`$CHATNUT_RUN_DIR` or
`$CHATNUT_HOME`, default ~/.chatnut, `server.port`, else `$CHATNUT_PORT` or
8000) unless it was installed with `--url` or `CHATNUT_URL` is set; the
token comes from `CHATNUT_TOKEN` or `CHATNUT_TOKEN_FILE`, never from the
hook file.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

CONNECT_TIMEOUT_S = 2.0
ANSWER_TIMEOUT_S = 10.0
# A request stays well under the server's body limit (384 KiB) and its
# 5 000-path cap; a bigger commit is asked about in parts.
PART_PATHS = 2000
PART_BYTES = 200_000
FILES_SHOWN = 5


class CannotTell(Exception):
    """The server could not be asked, or did not answer the question."""


def _arguments(argv: list[str]) -> dict[str, str]:
    given = {}
    for flag, value in zip(argv[::2], argv[1::2], strict=False):
        given[flag.removeprefix("--")] = value
    return given


def _local_base() -> str:
    home = os.environ.get("CHATNUT_HOME") or os.path.join(os.path.expanduser("~"), ".chatnut")
    run_dir = os.environ.get("CHATNUT_RUN_DIR") or home
    port = os.environ.get("CHATNUT_PORT") or "8000"
    try:
        with open(os.path.join(run_dir, "server.port")) as handle:
            port = handle.read().strip() or port
    except OSError:
        pass
    return f"http://127.0.0.1:{port}"


def _token() -> str | None:
    token = os.environ.get("CHATNUT_TOKEN")
    if not token and os.environ.get("CHATNUT_TOKEN_FILE"):
        try:
            with open(os.path.expanduser(os.environ["CHATNUT_TOKEN_FILE"])) as handle:
                token = handle.readline().strip()
        except OSError as exc:
            raise CannotTell(f"cannot read CHATNUT_TOKEN_FILE ({exc.strerror})") from None
    return token or None


def staged_paths() -> list[str]:
    """Every path the commit adds, changes or deletes (a rename is both), from the root."""
    listed = subprocess.run(
        ["git", "diff", "--cached", "--name-only", "-z", "--no-renames"],
        capture_output=True,
        check=True,
    ).stdout
    return [p.decode("utf-8", "replace") for p in listed.split(b"\0") if p]


def _post(base: str, path: str, body: bytes, token: str | None) -> tuple[int, bytes]:
    scheme, _, rest = base.partition("://")
    hostport = rest.split("/", 1)[0]
    prefix = rest[len(hostport) :].rstrip("/")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if scheme == "https":
        import http.client  # only for a remote server behind TLS

        conn = http.client.HTTPSConnection(hostport, timeout=ANSWER_TIMEOUT_S)
        conn.request("POST", prefix + path, body, headers)
        response = conn.getresponse()
        return response.status, response.read()
    if scheme != "http":
        raise CannotTell(f"the server URL {base!r} is neither http:// nor https://")
    host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "80")
    head = [f"POST {prefix + path} HTTP/1.1", f"Host: {hostport}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in headers.items()] + [f"Content-Length: {len(body)}"]
    with socket.create_connection((host.strip("[]"), int(port)), CONNECT_TIMEOUT_S) as sock:
        sock.settimeout(ANSWER_TIMEOUT_S)
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    raw = b"".join(chunks)
    header_block, _, payload = raw.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    if any(line.lower().replace(" ", "") == "transfer-encoding:chunked" for line in lines):
        payload = _unchunked(payload)
    return status, payload


def _unchunked(payload: bytes) -> bytes:
    out = b""
    while payload:
        size_line, _, payload = payload.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, payload = out + payload[:size], payload[size + 2 :]
    return out


def _parts(paths: list[str]) -> list[list[str]]:
    parts: list[list[str]] = [[]]
    size = 0
    for path in paths:
        if len(parts[-1]) >= PART_PATHS or size + len(path) + 4 > PART_BYTES:
            parts.append([])
            size = 0
        parts[-1].append(path)
        size += len(path.encode()) + 4
    return parts


def conflicts(base: str, project: str, agent: str | None, paths: list[str]) -> list[dict]:
    """The other holders' exclusive claims over these paths, files merged across parts."""
    token = _token()
    found: dict[str, dict] = {}
    for part in _parts(paths):
        body = json.dumps({"project": project, "agent_name": agent, "paths": part}).encode()
        try:
            status, answer = _post(base, "/api/claims/check", body, token)
        except (OSError, ValueError, IndexError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise CannotTell(f"no chatnut server answers at {base} ({reason})") from None
        try:
            data = json.loads(answer)
        except ValueError:
            raise CannotTell(f"{base} answered HTTP {status}, not chatnut's JSON") from None
        if status != 200:
            message = (data.get("error") or {}).get("message") if isinstance(data, dict) else None
            raise CannotTell(f"{base} refused the question: {message or f'HTTP {status}'}")
        for conflict in data["conflicts"]:
            key = json.dumps([conflict["holder"], conflict["paths"], conflict["expires_at"]])
            if key in found:
                found[key]["files"] += conflict["files"]
                found[key]["file_count"] += conflict["file_count"]
            else:
                found[key] = conflict
    return list(found.values())


def _shown(text: object) -> str:
    """Server text in the terminal: control characters shown, not obeyed."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def report(project: str, found: list[dict]) -> str:
    lines = [f"chatnut guard: this commit touches files claimed by others in project {project!r}:"]
    for c in found:
        files = ", ".join(_shown(f) for f in c["files"][:FILES_SHOWN])
        more = c["file_count"] - min(len(c["files"]), FILES_SHOWN)
        files += f" (+{more} more)" if more > 0 else ""
        what = ", ".join(_shown(p) for p in c["paths"])
        task = f", task {_shown(c['task'])}" if c.get("task") else ""
        note = f" — {_shown(c['note'])}" if c.get("note") else ""
        lines.append(
            f"  {_shown(c['holder'])} holds {what}{task} until {_shown(c['expires_at'])}{note}"
        )
        lines.append(f"    staged: {files}")
    lines.append(
        "Ask the holder to release, wait for the expiry, unstage those files,"
        " or commit with CHATNUT_GUARD=off."
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if os.environ.get("CHATNUT_GUARD", "").strip().lower() == "off":
        return 0
    given = _arguments(argv)
    project = given.get("project", "")
    agent = os.environ.get("CHATNUT_AGENT") or given.get("agent") or None
    base = (os.environ.get("CHATNUT_URL") or given.get("url") or _local_base()).rstrip("/")
    try:
        paths = staged_paths()
        found = conflicts(base, project, agent, paths) if paths else []
    except CannotTell as exc:
        print(f"chatnut guard: claims not checked: {exc}; committing anyway", file=sys.stderr)
        return 0
    except Exception as exc:  # never block a commit on the guard's own failure
        print(f"chatnut guard: claims not checked ({exc!r}); committing anyway", file=sys.stderr)
        return 0
    if not found:
        return 0
    print(report(project, found), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
