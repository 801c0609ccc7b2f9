"""`python -m tests.team.supervised_app HOME WORKERS [MODE]`: chatnut's supervisor over a tiny app.

The supervisor (supervisor.py) does not care what its workers serve, so its
own tests give it a worker that is a real uvicorn server answering with its
pid on a socket bound the way `chatnut serve` binds it — without a database,
whose multi-process backend is tested in test_team_server.py.

MODE: "ok" (default); "fail-start" (every worker exits before it is ready).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from chatnut.serve import bind, configure_logging
from chatnut.settings import Settings
from chatnut.supervisor import supervise


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = json.dumps({"pid": os.getpid()}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: Callable[[], None]) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.ready()


def main() -> int:
    home, workers = Path(sys.argv[1]), int(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else "ok"
    settings = Settings(home=home, workers=workers, port=0)
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    configure_logging(settings)

    def worker(current: Settings, ready: Callable[[], None]) -> int:
        if mode == "fail-start":
            return 3
        config = uvicorn.Config(app, log_config=None, lifespan="off", access_log=False)
        server = _Server(config, ready)
        server.run(sockets=[sock])
        return 0

    return supervise(settings, sock, port, worker)


if __name__ == "__main__":
    raise SystemExit(main())
