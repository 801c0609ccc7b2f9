"""The git guard's check, run by the pre-commit hook `chatnut guard install` writes.

It asks the chatnut server whether any staged file falls under another
agent's live exclusive claim in the project; the server answers with the
refusal to print (holder, claimed patterns, files, expiry), or nothing. It
never stands in the way of work when it cannot tell: an unreachable server,
a refused question or anything unexpected is one line of warning and the
commit goes through. `CHATNUT_GUARD=off` skips it; `CHATNUT_AGENT` names who
is committing (else the `--agent` it was installed with; with neither, every
exclusive claim counts).

Every commit pays for this file's start-up, so it is run as a script with
`python -I -S` (no site packages, nothing from the environment) and imports
nothing the interpreter has not already loaded but `_socket`, the C module
under `socket`: `socket`, `json` and `re` would each cost more than the rest
of the check (`python -m bench.guard_bench`). The request body is JSON
written by hand (a list of strings), the answer plain text; https, for a
remote server behind TLS, loads `http.client` when it is used. The staged
paths come on standard input from `git diff --cached --name-only -z
--no-renames`, which the hook starts beside this interpreter.

It finds the local server as the CLI does (`$CHATNUT_RUN_DIR` or
`$CHATNUT_HOME`, default ~/.chatnut, `server.port`, else `$CHATNUT_PORT` or
8000) unless it was installed with `--url` or `CHATNUT_URL` is set; the
token comes from `CHATNUT_TOKEN` or `CHATNUT_TOKEN_FILE`, never from the
hook file.
"""

from __future__ import annotations

import os
import sys

CONNECT_TIMEOUT_S = 2.0
ANSWER_TIMEOUT_S = 10.0
# A request stays under the server's body limit (384 KiB) and its 5 000-path
# cap; a bigger commit is asked about in parts (a claim over files of two
# parts is then named twice).
PART_PATHS = 5000
PART_BYTES = 300_000
CHECK_PATH = "/api/claims/check?format=text"
# Around the lines the server writes (guard/report.py), once a refusal.
HEADER = "chatnut guard: this commit touches files claimed by others in project {project}:"
FOOTER = (
    "Ask the holder to release, wait for the expiry, unstage those files,"
    " or commit with CHATNUT_GUARD=off."
)


class CannotTell(Exception):
    """The server could not be asked, or did not answer the question."""


def _arguments(argv: list[str]) -> dict[str, str]:
    return {
        flag.removeprefix("--"): value for flag, value in zip(argv[::2], argv[1::2], strict=False)
    }


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
    """Every path the commit adds, changes or deletes (a rename is both), from the
    root: git's NUL-separated list on standard input."""
    listed = sys.stdin.buffer.read()
    return [p.decode("utf-8", "replace") for p in listed.split(b"\0") if p]


def json_string(text: str) -> str:
    """`text` as a JSON string (what json.dumps writes, non-ASCII left as it is)."""
    out = ['"']
    for ch in text:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch < " " or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def request_body(project: str, agent: str | None, paths: list[str]) -> bytes:
    listed = ",".join(json_string(p) for p in paths)
    who = "null" if agent is None else json_string(agent)
    text = f'{{"project":{json_string(project)},"agent_name":{who},"paths":[{listed}]}}'
    return text.encode("utf-8")


def _post(base: str, path: str, body: bytes, token: str | None) -> tuple[int, bytes]:
    scheme, _, rest = base.partition("://")
    hostport = rest.split("/", 1)[0]
    target = rest[len(hostport) :].rstrip("/") + path
    headers = {"Content-Type": "application/json", "Accept": "text/plain"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if scheme == "https":
        import http.client  # only for a remote server behind TLS

        conn = http.client.HTTPSConnection(hostport, timeout=ANSWER_TIMEOUT_S)
        conn.request("POST", target, body, headers)
        response = conn.getresponse()
        return response.status, response.read()
    if scheme != "http":
        raise CannotTell(f"the server URL {base!r} is neither http:// nor https://")
    import _socket  # what `socket` wraps, without its imports

    host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "80")
    head = [f"POST {target} HTTP/1.1", f"Host: {hostport}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in headers.items()] + [f"Content-Length: {len(body)}"]
    family, kind, proto, _, address = _socket.getaddrinfo(
        host.strip("[]"), int(port), 0, _socket.SOCK_STREAM
    )[0]
    sock = _socket.socket(family, kind, proto)
    try:
        sock.settimeout(CONNECT_TIMEOUT_S)
        sock.connect(address)
        sock.settimeout(ANSWER_TIMEOUT_S)
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    finally:
        sock.close()
    header_block, _, payload = b"".join(chunks).partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    if any(line.lower().replace(" ", "") == "transfer-encoding:chunked" for line in lines):
        payload = _unchunked(payload)
    return int(lines[0].split()[1]), payload


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


def _message(answer: bytes) -> str:
    """The `message` of chatnut's JSON error, without a JSON parser."""
    text = answer.decode("utf-8", "replace")
    found = text.split('"message":"', 1)[1].split('"', 1)[0] if '"message":"' in text else ""
    return "".join(c for c in found if c.isprintable())[:300]


def refusal(base: str, project: str, agent: str | None, paths: list[str]) -> str:
    """The server's refusal text (empty: nothing of this commit is claimed by others)."""
    token = _token()
    found = []
    for part in _parts(paths):
        try:
            status, answer = _post(base, CHECK_PATH, request_body(project, agent, part), token)
        except (OSError, ValueError, IndexError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise CannotTell(f"no chatnut server answers at {base} ({reason})") from None
        if status != 200:
            said = _message(answer) or f"HTTP {status}"
            raise CannotTell(f"{base} refused the question: {said}")
        if answer.strip():
            found.append(answer.decode("utf-8", "replace").rstrip("\n"))
    return "\n".join(found)


def main(argv: list[str]) -> int:
    if os.environ.get("CHATNUT_GUARD", "").strip().lower() == "off":
        return 0
    given = _arguments(argv)
    project = given.get("project", "")
    agent = os.environ.get("CHATNUT_AGENT") or given.get("agent") or None
    base = (os.environ.get("CHATNUT_URL") or given.get("url") or _local_base()).rstrip("/")
    try:
        paths = staged_paths()
        refused = refusal(base, project, agent, paths) if paths else ""
    except CannotTell as exc:
        print(f"chatnut guard: claims not checked: {exc}; committing anyway", file=sys.stderr)
        return 0
    except Exception as exc:  # never block a commit on the guard's own failure
        print(f"chatnut guard: claims not checked ({exc!r}); committing anyway", file=sys.stderr)
        return 0
    if not refused:
        return 0
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in repr(project))
    print(HEADER.format(project=shown), refused, FOOTER, sep="\n", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
