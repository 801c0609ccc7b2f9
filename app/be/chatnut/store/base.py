"""The one storage interface the service talks to; each backend implements it.

`Store` is deliberately domain-shaped, not SQL-shaped: "post this message if
the room is live and the reply target is in it", not "run this statement".
Each method is one atomic step with the rules that must hold at commit time
checked inside it (a room archived between a check and an insert cannot
happen), so a backend is free to do it in one batched SQLite savepoint
(`store/sqlite/`) or in one PostgreSQL transaction (`store/postgres/`).
The service validates input and shapes results; the store answers in plain
dicts and raises domain errors (errors.py); it never knows about HTTP.

Events: every write that changes something hands its events (hub.Event) to
`on_commit` after the commit and before answering, in commit order — a caller
that hears "done" knows every subscriber on this process has been told. A
backend shared by several processes also delivers the other processes'
commits to `on_commit`, in the same order (postgres: LISTEN/NOTIFY).

Adding a feature that needs storage: add one abstract method here (named for
what it does, documented with what it raises and which events it publishes),
implement it in both `store/sqlite/` and `store/postgres/` with their own
SQL (plus a migration in each when the schema changes), and call it from the
service. The parametrised store tests then run it on both backends.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chatnut.hub import Event
from chatnut.shapes.admin import RetentionRule, Token
from chatnut.shapes.claims import Claim, Released, StoredClaim
from chatnut.shapes.coordination import Ack, HandoffSnapshot, InboxPage
from chatnut.shapes.health import Stats
from chatnut.shapes.messages import (
    Message,
    Messages,
    PostedMessage,
    Reaction,
    ReadCursor,
    Receipt,
    Replies,
)
from chatnut.shapes.reactions import Toggled
from chatnut.shapes.receipts import Awaiting
from chatnut.shapes.rooms import Cleared, Deleted, ProjectTotals, Room, RoomPref, RoomSummary
from chatnut.shapes.search import MessageHit, RoomMatches, SearchPage, SearchResult
from chatnut.shapes.team import Agent, Status
from chatnut.shapes.threads import Thread
from chatnut.store.claim_rows import Judge

# Handed every committed event, in commit order (the app wires it to Hub.publish).
OnCommit = Callable[[list[Event]], None]
Row = dict[str, Any]

# How long a post's idempotency key is remembered: a retry within a day of the
# first try returns the first try's message.
IDEMPOTENCY_SECONDS = 24 * 3600


def idempotency_cutoff() -> str:
    """Keys stored before this time (UTC ISO 8601) are forgotten."""
    then = datetime.now(UTC) - timedelta(seconds=IDEMPOTENCY_SECONDS)
    return then.isoformat(timespec="milliseconds")


# A search looks at no more than this many of the newest hits: enough for any
# human or agent to act on, and what keeps a common term as fast as a rare one.
SEARCH_HIT_CAP = 1000
SEARCH_MESSAGE_LIMIT = 20
SEARCH_ROOM_LIMIT = 20
# At most this many receipts in one `receipt` event (the newest; `more` says so).
RECEIPT_EVENT_ROWS = 200
PREVIEW_CHARS = 200  # of the last message, in room lists (cut by the database)


@dataclass(frozen=True)
class SearchFilter:
    """Narrowing a search (the web page's filters and operators); dates are ISO
    text, `before` exclusive; names match case-insensitively."""

    project: str | None = None
    room_id: str | None = None
    sender: str | None = None
    after: str | None = None
    before: str | None = None
    offset: int = 0
    # Keyset paging past the cap: only hits older than this message id, so
    # every hit is reachable however many there are.
    before_id: int | None = None
    room_name: str | None = None  # a room of this name, in any project (or `project`)
    to: str | None = None  # addressed to this name, or @mentioning it
    has_code: bool = False  # inline code or a fenced block (a pair of backticks)


def _nothing() -> None:
    pass


class StoreOpenError(RuntimeError):
    """The database cannot be used at all; the message is one line a user can act on."""


class Store(ABC):
    """Rooms, messages, read cursors, statuses, agents, search — on one database."""

    #: What the user named (a path, or a URL without its password): ping and status show it.
    location: str

    # -- life ---------------------------------------------------------------

    @abstractmethod
    async def open(self) -> list[str]:
        """Connect and migrate; returns the names of the migrations applied.

        Raises StoreOpenError with a one-line reason when the database is
        unusable (newer schema, not a database, corrupt, in use, unreachable).
        """

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def check(self) -> None:
        """One trivial read: raises StorageUnavailable when the database does not answer."""

    @abstractmethod
    async def readiness(self) -> str | None:
        """None when this process can serve; else one word saying why not: `database`
        (it does not answer), `migrations` (its schema is not this code's), `listen`
        (PostgreSQL: other processes' commits would not reach this one). Never raises;
        the caller bounds how long it may take."""

    @abstractmethod
    def pool_usage(self) -> tuple[int, int]:
        """Database connections (in use, total) of this process, for the metrics."""

    # -- rooms --------------------------------------------------------------

    @abstractmethod
    async def room(self, room_id: str) -> Room | None: ...

    @abstractmethod
    async def create_room(self, room: Room) -> tuple[Room, bool]:
        """Insert `room` unless its (project, name) exists: (the room, whether it is new).

        Publishes room/created when new.
        """

    @abstractmethod
    async def archive_room(self, project: str, name: str) -> Room:
        """Archive a live room (idempotent: an archived room keeps its first time).

        Raises NotFound. Publishes room/archived when it changed.
        """

    @abstractmethod
    async def archive_idle_rooms(self, cutoff: str) -> list[str]:
        """Archive live rooms whose newest activity is older than `cutoff`; their ids."""

    @abstractmethod
    async def delete_room(self, room_id: str) -> Deleted:
        """Delete an archived room and all it holds: {id, name, project, deleted_messages}.

        Raises NotFound, or InvalidInput for a live room. Publishes room/deleted.
        """

    @abstractmethod
    async def clear_room(self, project: str, name: str) -> Cleared:
        """Delete a room's messages, cursors and statuses (registrations stay):
        {name, project, room_id, deleted_count}. Raises NotFound. Publishes cleared."""

    @abstractmethod
    async def list_rooms(self, project: str | None, status: str) -> list[Room]:
        """Rooms newest first; `status` is live, archived or all."""

    @abstractmethod
    async def room_summaries(
        self, project: str | None, status: str, reader: str | None, room_id: str | None = None
    ) -> list[RoomSummary]:
        """Rooms with message_count, last_message {id, sender, preview, message_type,
        created_at} and, for a reader, unread_count; most recent activity first."""

    @abstractmethod
    async def list_projects(self) -> list[str]: ...

    # -- messages -----------------------------------------------------------

    @abstractmethod
    async def post_message(
        self,
        room_id: str,
        sender: str,
        content: str,
        message_type: str,
        metadata: dict[str, Any] | None,
        *,
        reply_to: int | None,
        mentioned: Sequence[str],
        to: Sequence[str] = (),
        idempotency_key: str | None = None,
        principal: str | None = None,
    ) -> PostedMessage:
        """Store a message in a live room; the message plus `mentions` [{name, task_id}]
        of the registered agents among `mentioned` (lower-cased), sorted by name.

        `to` (lower-cased names) is stored and returned as `to`; the
        message is addressed to those and to the registered agents it mentions
        (its event's `audience`, what addressed reads and the inbox find).
        `principal`: whose token posted it, stored and returned as `principal`
        (None: the shared token; the message then has no such field).
        Raises NotFound, RoomArchived, or InvalidInput when reply_to is not a
        message of this room. Publishes message. Ids increase in commit order.

        With `idempotency_key`: when this sender already posted with this key in
        this room within IDEMPOTENCY_SECONDS, that message (and its mentions) is
        returned instead, nothing is stored or published — also when the first
        post was made by another process on the same database.
        """

    @abstractmethod
    async def message_page(
        self,
        room_id: str | None,
        *,
        limit: int,
        after: int | None = None,
        before: int | None = None,
        message_type: str | None = None,
        newest: bool = False,
    ) -> tuple[list[Message], bool]:
        """Up to `limit` messages between the bounds, oldest first, and whether the range
        holds more. `newest` takes the page from the top of the range (paging back).
        With a room: raises NotFound when it does not exist; None spans every room."""

    @abstractmethod
    async def read_page(
        self,
        room_id: str,
        *,
        after: int,
        limit: int,
        message_type: str | None,
        addressed_to: str | None,
    ) -> Messages:
        """A room's messages after `after` (optionally of one type, or addressed to a
        name): {messages, has_more, next_since_id}, where next_since_id is the last id
        it looked at — read as of one snapshot, so a filter that skips messages never
        makes the next call look again, nor skip one committed meanwhile.
        Raises NotFound."""

    @abstractmethod
    async def message_window(
        self, room_id: str, around: int, limit: int
    ) -> tuple[list[Message], bool, bool]:
        """About `limit` messages centred on `around`, oldest first, and whether older /
        newer ones remain. Raises NotFound."""

    @abstractmethod
    async def newest_message_id(self) -> int:
        """The highest message id ever assigned (0 when none)."""

    @abstractmethod
    async def mark_read(self, room_id: str, reader: str, message_id: int) -> ReadCursor:
        """Move a read cursor forward only, never past the newest message:
        {room_id, reader, last_read_message_id}. Raises NotFound. Publishes read."""

    # -- the team -----------------------------------------------------------

    @abstractmethod
    async def set_status(
        self, room_id: str, sender: str, status: str, *, principal: str | None = None
    ) -> Status:
        """Raises NotFound, RoomArchived. Publishes status. `principal`: whose token
        set it, on the row as `principal` (absent for None), as for messages."""

    @abstractmethod
    async def statuses(self, room_id: str) -> list[Status]:
        """Newest first. Raises NotFound."""

    @abstractmethod
    async def register_agent(
        self, room_id: str, agent_name: str, task_id: str, *, principal: str | None = None
    ) -> Agent:
        """Raises NotFound, RoomArchived. Publishes agent. `principal` as set_status's."""

    @abstractmethod
    async def agents(self, room_id: str) -> list[Agent]:
        """By name. Raises NotFound."""

    # -- coordination: addressed messages, the inbox, handoffs, presence ---

    @abstractmethod
    async def inbox_page(self, name: str, *, after: int, limit: int, newest: bool) -> InboxPage:
        """Messages addressed to `name` in every live room after `after`, each with its
        `room` {id, project, name}: {messages, has_more, next_since_id} (as read_page;
        `newest` takes the newest `limit` instead of the oldest)."""

    @abstractmethod
    async def handoff(self, room_id: str, reader: str, recent: int) -> HandoffSnapshot:
        """What a resuming agent reads first, as of one snapshot: {room, statuses,
        agents, latest_summary, unread_count, unread (after the reader's cursor),
        recent (the newest), next_since_id, saved (persisted presence of the names
        in statuses and agents)}. Raises NotFound."""

    @abstractmethod
    async def presence_of(self, room_id: str, names: Sequence[str]) -> dict[str, str]:
        """Persisted last-seen times of these lower-cased names (this room's or the
        inbox's '*', whichever is newer)."""

    @abstractmethod
    async def save_presence(self, rows: Sequence[tuple[str, str, str]]) -> None:
        """Upsert (room_id, name, last_seen_at); a time never moves back; a room
        deleted meanwhile gets no row. Publishes nothing."""

    # Parked named waits (presence's `waiting`) live in each process's memory. A
    # backend that several processes share lets each see the others';
    # with one process (SQLite) memory is the whole truth and these do nothing.

    def share_parked(self, parked: Callable[[], set[tuple[str, str]]]) -> Callable[[], None]:
        """Publish this process's parked waits: `parked()` gives the (room_id, or
        '*' for an inbox, lower-cased name) pairs parked now; call the function
        returned whenever that set changes."""
        return _nothing

    async def parked_elsewhere(self, room_id: str, names: Sequence[str]) -> set[str]:
        """Those of these lower-cased names parked in a named wait on this room or
        on their inbox by another live process, as that process last published."""
        return set()

    # -- reactions from the page ----------------------------------------------
    #
    # A toggle publishes one `reaction` event in the same commit: {room_id,
    # message_id, reactions: [{emoji, count, names}]} — all of that message's
    # reactions as they now stand.

    @abstractmethod
    async def reactions(
        self, message_ids: Sequence[int], room_id: str | None = None
    ) -> dict[int, list[Reaction]]:
        """{message id: [{emoji, count, names}]} for those of these messages that
        have any reaction (emoji in the set's order, names in reacting order); only
        `room_id`'s messages if given."""

    @abstractmethod
    async def toggle_reaction(
        self, room_id: str, message_id: int, emoji: str, name: str
    ) -> Toggled:
        """Add `name`'s `emoji` on the message, or take it away if it is there:
        {room_id, message_id, reactions, emoji, name, reacted}. Raises NotFound
        (room, or no such message in it)."""

    # -- threads, and the reader's own place --------------------------------
    #
    # A reply is a message whose metadata names its parent (`reply_to`, a
    # message of the same room). Both backends index replies by (room,
    # parent), so a page's counts are one read whatever the room's size.

    @abstractmethod
    async def reply_counts(self, room_id: str, parent_ids: Sequence[int]) -> dict[int, Replies]:
        """{parent id: {count, last_id, last_at, last_sender}} for those of these
        messages of `room_id` that have replies (the others are absent), in one
        indexed read."""

    @abstractmethod
    async def thread_page(
        self, room_id: str, parent_id: int, *, after: int, limit: int
    ) -> Thread[Message]:
        """A thread as of one snapshot: {parent, replies (up to `limit` after
        id `after`, oldest first), has_more, reply_count}. Raises NotFound (room,
        or no such message in it)."""

    @abstractmethod
    async def mark_unread(self, room_id: str, reader: str, message_id: int) -> ReadCursor:
        """Move `reader`'s cursor back to just before `message_id`, never forward
        (a message already unread leaves it where it is): {room_id, reader,
        last_read_message_id}. Receipts already stamped read stay read.
        Raises NotFound (room, or no such message in it). Publishes read."""

    # -- editing and deleting a message ----------------------------------------
    #
    # Each publishes one `edit` event in the same commit: the message as it now
    # stands ({…, edited_at} after an edit; {…, content: "", deleted: true}
    # after a delete). Neither re-addresses the message nor moves any cursor.

    @abstractmethod
    async def message_by_id(self, message_id: int) -> Message | None:
        """The message with this id in any room, as read results show it (None: none)."""

    @abstractmethod
    async def edit_message(self, message_id: int, content: str, at: str) -> Message:
        """Replace the message's content and set its `edited_at`; the search index
        follows. Raises NotFound (no such message), RoomArchived (its room is
        read-only) or Conflict (it was deleted)."""

    @abstractmethod
    async def delete_message(self, message_id: int, at: str) -> Message:
        """Leave a tombstone: the content emptied, the metadata down to what
        TOMBSTONE_METADATA keeps, and nothing of the old text left in the search
        index or, where the backend can promise it, in the database's files.
        Raises NotFound or Conflict (deleted already)."""

    @abstractmethod
    async def changed_messages(self, room_id: str, message_ids: Sequence[int]) -> list[Message]:
        """Those of these messages of the room that were edited or deleted, as they
        now stand (what a page reads again when its feed resumes)."""

    # -- receipts of directed messages, and push ------------------------------
    #
    # Every stamp (delivered, read by a cursor move, acked) publishes one
    # `receipt` event per room in the same commit: {room_id, receipts:
    # [{message_id, name, delivered_at, read_at, acked_at}], more}. A cursor
    # passing many messages at once lists the newest RECEIPT_EVENT_ROWS rows
    # and sets `more`: a page then reads the receipts it shows again.

    @abstractmethod
    async def receipts(
        self, message_ids: Sequence[int], room_id: str | None = None
    ) -> dict[int, dict[str, Receipt]]:
        """{message id: {name: {delivered_at, read_at, acked_at}}} for the `to` names of
        these messages (messages with no `to`, or not in `room_id` if given, are absent)."""

    @abstractmethod
    async def mark_delivered(self, name: str, message_ids: Sequence[int]) -> None:
        """Stamp delivered_at, the first time only, on `name`'s receipts of these
        messages (ids it has no receipt for are ignored). Publishes a `receipt`
        event per room whose receipts changed (see `RECEIPT_EVENT_ROWS`)."""

    @abstractmethod
    async def ack_message(self, room_id: str, message_id: int, name: str) -> Ack:
        """Stamp acked_at (first time only; delivered_at too when unset): {room_id,
        message_id, agent_name, delivered_at, read_at, acked_at}, and publishes a
        `receipt` event when something changed. Raises NotFound
        (room, or no such message in it), InvalidInput (`name` is not in its `to`)."""

    @abstractmethod
    async def awaiting_acks(
        self, *, room_id: str | None, name: str | None, limit: int
    ) -> list[Awaiting]:
        """Receipts of ack_required messages not acked yet, oldest first, in one room
        or (by name) every live room: {message_id, room_id, name, sender, created_at,
        delivered_at, read_at, preview}. Raises NotFound for a missing room."""

    @abstractmethod
    async def delivery_lease(
        self, name: str, holder: str, *, now: float, until: float, start_id: int
    ) -> int | None:
        """Take or renew the right to push `name`'s messages until `until` (epoch
        seconds) when it is free, expired or already `holder`'s: the id of the last
        message pushed to `name` (a name seen for the first time starts at
        `start_id`). None while another holder's lease runs."""

    @abstractmethod
    async def delivery_advance(self, name: str, holder: str, through: int) -> bool:
        """Move `name`'s push cursor forward (never back) to `through` if `holder`
        still holds the lease; whether it does."""

    @abstractmethod
    async def delivery_release(self, name: str, holder: str) -> None:
        """Give up `holder`'s lease (a bridge shutting down), so another may push at once."""

    # -- the web page at a team's scale ------------------------------------

    @abstractmethod
    async def sidebar_page(
        self,
        reader: str | None,
        *,
        project: str | None,
        status: str,
        unread_only: bool,
        name_contains: str | None,
        offset: int,
        limit: int,
    ) -> tuple[list[RoomSummary], bool]:
        """One page of room summaries (as room_summaries), newest activity first."""

    @abstractmethod
    async def sidebar_totals(
        self, reader: str | None, room_ids: Sequence[str]
    ) -> tuple[list[ProjectTotals], dict[str, int]]:
        """Per project {project, live, archived, unread, unread_rooms}, and the unread
        counts of `room_ids` for the reader, from one snapshot."""

    @abstractmethod
    async def catch_up(
        self, reader: str, *, project: str | None = None, first_visit: bool = False
    ) -> int:
        """Move the reader's cursor in every room (of `project`) to its newest
        message; rooms moved. Publishes a "read" event per room moved, for the
        reader's open pages. `first_visit`: only a reader with no cursor at all
        moves (a name that has read before keeps its place on every device), and
        nothing is published (the page asks before opening its feed)."""

    # -- a reader's own settings per room -------------------------------------

    @abstractmethod
    async def room_prefs(self, reader: str) -> list[RoomPref]:
        """The reader's settings of every room that has any, by room id:
        {room_id, project, level, muted, starred, updated_at}."""

    @abstractmethod
    async def set_room_prefs(
        self,
        reader: str,
        room_id: str,
        *,
        level: str | None,
        muted: bool | None,
        starred: bool | None,
    ) -> RoomPref:
        """Set the reader's settings of a room (None keeps a setting as it is; a
        room without settings starts at level "mentions", not muted, not starred) and
        return them as room_prefs does. NotFound for an unknown room."""

    # -- claims on files and tasks ------------------------------------------

    @abstractmethod
    async def claim(self, claim: Row, judge: Judge, max_live: int) -> StoredClaim:
        """Grant or renew `claim` {claim_id, holder, paths, task, exclusive, note,
        room_id, created_at (now), expires_at} in its room's project, in one step.

        The room must be live (NotFound, RoomArchived). The project's live claims
        go to `judge`, which returns the conflicts and whether they block.
        Blocked: nothing is written, {claim_id: None, granted: False, conflicts}.
        Else expired claims are swept, and the holder's live claim with the same paths and
        task is renewed (its id kept; exclusive, note, expires_at replaced), or
        `claim` is stored — Conflict past `max_live` in the project — and the
        answer is {claim_id, granted: True, conflicts, claim (as stored)}.
        Publishes nothing."""

    @abstractmethod
    async def release_claims(
        self,
        room_id: str,
        holder: str,
        claim_id: str | None,
        paths: Sequence[str] | None,
        now: str,
    ) -> Released:
        """End the holder's live claims in the room's project (all, or claim_id's),
        or with `paths` take those patterns out of them (a claim left with no path
        and no task ends): {released: [ids], trimmed: [ids]}. Raises NotFound (room,
        or a claim_id that is not live there) and Conflict (another holder's)."""

    @abstractmethod
    async def live_claims(self, project: str | None, now: str, limit: int) -> list[Claim]:
        """Claims not expired at `now`, of one project or of all, oldest first."""

    # -- principals and tokens ------------------------------------------------

    @abstractmethod
    async def add_token(self, principal: Row, token: Row) -> Row:
        """Create the principal {name, kind, role, projects (list or None), owner}, or
        update one of that name (and enable it again), and give it the token {id,
        secret_hash, prefix, created_at, expires_at}: the principal as stored."""

    @abstractmethod
    async def tokens(self) -> list[Token]:
        """Every token, oldest first: {id, principal, prefix, kind, role, projects, owner,
        created_at, expires_at, last_used_at, revoked_at} (never a secret or a hash)."""

    @abstractmethod
    async def revoke_tokens(self, id_or_name: str, at: str) -> list[Token]:
        """Revoke the token with this id, or every live token of the principal of this
        name; the tokens revoked (as `tokens` lists them). Publishes revoked {tokens}
        (room id ""), on every process that shares the database."""

    @abstractmethod
    async def token_owner(self, hashed: str) -> Row | None:
        """The principal of the token with this secret hash, with the token's
        {token_id, expires_at, revoked_at}; None for an unknown hash."""

    @abstractmethod
    async def token_by_id(self, token_id: str) -> Row | None:
        """As token_owner, for the token with this id (a browser session names the
        token that signed it in); None for an unknown id."""

    @abstractmethod
    async def save_token_uses(self, rows: Sequence[tuple[str, str]]) -> None:
        """Upsert (token id, last used at); a time never moves back. Publishes nothing."""

    # -- search and counts --------------------------------------------------

    # -- retention: override rules, and old messages moved out and back in

    @abstractmethod
    def solo_turn(self, key: int) -> AbstractAsyncContextManager[bool]:
        """Whether this process may run a job that one process at a time runs
        (True: its turn, held until the block ends); tried, never waited for."""

    @abstractmethod
    async def retention_rules(self) -> list[RetentionRule]:
        """Every override: project, room ('' for the whole project), days (None: off)."""

    @abstractmethod
    async def set_retention_rule(
        self, project: str, room: str, days: int | None, at: str
    ) -> RetentionRule:
        """Set (or replace) the override for a project or one of its rooms."""

    @abstractmethod
    async def expired_messages(self, room_id: str, cutoff: str, limit: int) -> list[Row]:
        """The room's oldest messages created before cutoff, each as
        {"message", "message_recipients", "receipts"}: what a restore needs."""

    @abstractmethod
    async def count_expired(self, room_id: str, cutoff: str) -> int:
        """How many of the room's messages were created before cutoff (a dry run)."""

    @abstractmethod
    async def purge_messages(self, room_id: str, ids: Sequence[int]) -> int:
        """Delete these messages of the room (counters, search and receipts follow).
        Moves the room's purge horizon and publishes `purged` {room_id, project,
        room, through_id, messages}: every message of the room with an id up to
        through_id is gone."""

    @abstractmethod
    async def purges_after(self, mark: int, room_id: str | None) -> list[Row]:
        """The purge horizons ({room_id, project, room, through_id}) of one room or
        of all, recorded when the newest message id was `mark` or more: what a
        stream resuming after message `mark` may have missed."""

    @abstractmethod
    async def restore_messages(self, entries: Sequence[Row]) -> int:
        """Put purged messages back with their ids; the number restored (those
        already there, or whose room is gone, are skipped)."""

    @abstractmethod
    async def search(self, query: str, project: str | None) -> SearchResult:
        """Case-insensitive substring search: {rooms, message_rooms, messages}
        (see SEARCH_* for the caps; messages carry a snippet, not the body)."""

    @abstractmethod
    async def search_page(self, terms: Sequence[str], where: SearchFilter) -> SearchPage:
        """As search, for messages holding every one of `terms` (any message when
        there are none), narrowed by `where`, a page of message hits from `where.offset`
        among the newest SEARCH_HIT_CAP (below `where.before_id` when given): plus
        {offset, total, capped, has_more}; `has_more` also when capped hits lie
        past the window (the next page asks with before_id = the last id shown)."""

    @abstractmethod
    async def stats(self) -> Stats:
        """{rooms, messages}, from counters (never a count over messages)."""


def snippet(content: str, query: str, radius: int = 60) -> str:
    """A window of the content around the first case-insensitive hit, as plain text."""
    at = content.casefold().find(query.casefold())
    if at < 0:
        at = 0
    start = max(0, at - radius)
    end = min(len(content), at + len(query) + radius)
    text = " ".join(content[start:end].split())
    return ("…" if start > 0 else "") + text + ("…" if end < len(content) else "")


def search_result(page: SearchPage) -> SearchResult:
    """The search tool's answer out of the page's: the original's three lists."""
    return {
        "rooms": page["rooms"],
        "message_rooms": page["message_rooms"],
        "messages": page["messages"],
    }


def hit_dict(row: Any, query: str) -> MessageHit:
    """A message that matched, with the content around the match."""
    return {
        "id": row["id"],
        "room_id": row["room_id"],
        "sender": row["sender"],
        "created_at": row["created_at"],
        "snippet": snippet(row["content"], query),
    }


def rank_rooms(hits: list[tuple[int, str]]) -> list[RoomMatches]:
    """Per-room match counts of (message id, room id) hits, most matches first."""
    counts: dict[str, int] = {}
    for _id, room_id in hits:
        counts[room_id] = counts.get(room_id, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:SEARCH_ROOM_LIMIT]
    return [{"room_id": room_id, "match_count": n} for room_id, n in ranked]
