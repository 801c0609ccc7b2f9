"""`chatnut token create|list|revoke`: principals' tokens, here or on a team server.

With `--url` (or CHATNUT_URL) the remote server's admin routes do it, with the
admin token (CHATNUT_TOKEN). Otherwise this home's running server does, so it
hears a revocation at once; with no server running, the home's database is
opened directly.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

import anyio

from chatnut.client.endpoint import CliError, Endpoint, locate, quote, server_alive
from chatnut.errors import ChatnutError
from chatnut.hub import Hub
from chatnut.settings import Settings
from chatnut.store import StoreOpenError, open_store


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> list[argparse.ArgumentParser]:
    """The `token` command; its verbs' parsers (which take the client flags too)."""
    token = commands.add_parser(
        "token",
        help="per-agent and per-person tokens: create, list, revoke",
        description="Tokens that act as one principal (an agent or a person) with a role "
        "and, optionally, a project scope. Here: this home's server or database; with --url: "
        "a remote server (CHATNUT_TOKEN must be an admin's token).",
    )
    verbs = token.add_subparsers(dest="token_command", metavar="TOKEN_COMMAND", required=True)
    create = verbs.add_parser("create", help="make a token for NAME; prints its secret once")
    create.add_argument("name", metavar="NAME", help="letters, digits, _ or - (lower-cased)")
    create.add_argument("--kind", choices=("agent", "person"), default="agent")
    create.add_argument("--role", choices=("member", "reader", "admin"), default="member")
    create.add_argument(
        "--project", action="append", default=[], metavar="P", help="scope to P (repeatable)"
    )
    create.add_argument("--expires", metavar="AGE", help="30d, 12h, 90m or 2w from now")
    create.add_argument("--owner", metavar="NAME", help="the person it is made for or by")
    create.add_argument("--json", action="store_true")
    listing = verbs.add_parser("list", help="every token: prefix, name, role, times")
    listing.add_argument("--json", action="store_true")
    revoke = verbs.add_parser("revoke", help="revoke a token by id, or all of a name's")
    revoke.add_argument("target", metavar="ID|NAME")
    revoke.add_argument("--json", action="store_true")
    return [create, listing, revoke]


def run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.url is not None or server_alive(settings):
        answer: Mapping[str, Any] = _remote(args, locate(settings))
    else:
        answer = _local(args, settings)
    _print(args, answer)
    return 0


def _remote(args: argparse.Namespace, endpoint: Endpoint) -> dict[str, Any]:
    if args.token_command == "create":
        body = {
            "name": args.name,
            "kind": args.kind,
            "role": args.role,
            "projects": args.project,
            "expires": args.expires,
            "owner": args.owner,
        }
        answer: dict[str, Any] = endpoint.call("POST", "/api/admin/tokens", body)
    elif args.token_command == "list":
        answer = endpoint.call("GET", "/api/admin/tokens")
    else:
        answer = endpoint.call("DELETE", f"/api/admin/tokens/{quote(args.target)}")
    return answer


def _local(args: argparse.Namespace, settings: Settings) -> Mapping[str, Any]:
    # The service's shapes, as the remote call's JSON: printed alike.
    async def work() -> Mapping[str, Any]:
        from chatnut.service import ChatService

        password = settings.db_password
        store = open_store(
            settings.database, password=(lambda: password) if password is not None else None
        )
        await store.open()
        try:
            service = ChatService(store, Hub())
            if args.token_command == "create":
                return await service.create_token(
                    args.name,
                    kind=args.kind,
                    role=args.role,
                    projects=args.project,
                    expires=args.expires,
                    owner=args.owner,
                )
            if args.token_command == "list":
                return await service.list_tokens()
            return await service.revoke_tokens(args.target)
        finally:
            await store.close()

    try:
        return anyio.run(work)
    except (ChatnutError, StoreOpenError) as exc:
        raise CliError(str(exc)) from None


def _print(args: argparse.Namespace, answer: Mapping[str, Any]) -> None:
    if args.json:
        print(json.dumps(answer))
        return
    if args.token_command == "create":
        scope = ", ".join(answer["projects"]) if answer["projects"] else "every project"
        expires = answer["expires_at"] or "never"
        print(answer["token"])
        print(
            f"(token {answer['id']} for {answer['kind']} {answer['principal']}, role"
            f" {answer['role']}, {scope}, expires {expires}: shown only now; keep it in a"
            " secret store or an environment variable)"
        )
    elif args.token_command == "list":
        tokens = answer["tokens"]
        if not tokens:
            print("no tokens (the shared token is the only key)")
        for t in tokens:
            state = f"revoked {t['revoked_at']}" if t["revoked_at"] else "live"
            scope = ",".join(t["projects"]) if t["projects"] else "*"
            used = t["last_used_at"] or "never"
            print(
                f"{t['id']}  {t['prefix']}…  {t['principal']:<20} {t['kind']:<6}"
                f" {t['role']:<6} projects={scope}  used={used}  {state}"
            )
    else:
        for t in answer["revoked"]:
            print(f"revoked {t['id']} ({t['prefix']}…) of {t['principal']}")
