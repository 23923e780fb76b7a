"""`minga ingest SOURCE...` and `minga ingest-worker`: import files, directories, URLs, feeds.

`minga ingest publish DRAFT_ID`, `minga ingest discard DRAFT_ID` and `minga ingest drafts`
handle the drafts that reports become.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.accounts.models import User
from minga.db import make_engine, make_sessionmaker, unit_of_work
from minga.errors import MingaError
from minga.ingest import drafts, jobs, sources
from minga.ingest.csvfeed import CsvMapping
from minga.ingest.pipeline import FORMATS, Options
from minga.intel.service import parse_reach, parse_tlp
from minga.ops import exits
from minga.ops.exits import database_problem, load_settings, stop
from minga.policy import Principal, Tlp

out = Console()
err = Console(stderr=True)
DRAFT_COMMANDS = ("publish", "discard", "drafts")
# Exit code per job outcome: bad input 2, the database unusable 3 (as every command), else 1.
# "partial": stored, but some objects were refused (each listed with its reason).
EXIT = {"done": 0, "partial": 1, "failed": 2, "dead": 3, "unavailable": 3}
SHOWN_REFUSED = 20  # refused objects listed after the table (the job result keeps 1000)


class BadInput(Exception):
    """Ends the command with exit code 2 and one sentence."""


class Unavailable(Exception):
    """Ends the command with exit code 3 (the database cannot be used) and one sentence."""


class _OneLine(logging.Formatter):
    """Log lines for a person at a terminal: the message, never a traceback."""

    def formatException(self, ei: object) -> str:
        return ""

    def formatStack(self, stack_info: str) -> str:
        return ""


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record comes (as logging.lastResort does)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self, logging.WARNING)
        self.setFormatter(_OneLine("warning: %(message)s"))

    @property
    def stream(self) -> Any:
        return sys.stderr


def _quiet_logs() -> None:
    """Warnings and errors of the importer as one line each on stderr (the job keeps the
    details); without a handler, Python would print whole tracebacks."""
    logger = logging.getLogger("minga")
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        logger.addHandler(_Stderr())


@contextmanager
def _node() -> Iterator[sessionmaker[Session]]:
    from minga.migrate import upgrade

    settings = load_settings()
    try:
        engine = make_engine(settings.database_url)
    except ArgumentError as exc:
        raise BadInput(database_problem(settings.database_url, exc)) from None
    try:
        upgrade(engine)
        yield make_sessionmaker(engine)
    except (OperationalError, InterfaceError) as exc:
        raise Unavailable(database_problem(settings.database_url, exc)) from None
    finally:
        engine.dispose()


def _principal(session: Session, name: str | None) -> Principal:
    user: User | None
    if name:
        user = accounts.find_user(session, name)
    else:
        user = session.scalar(select(User).where(User.role == "admin").order_by(User.id))
        if user is None:
            raise MingaError("no admin user: run `minga init` or give --user NAME")
    return accounts.principal_for(session, user)


UserOpt = Annotated[
    str | None,
    typer.Option(
        "--user",
        help="Act as this user. Default: importing, the first admin; `drafts`, every draft;"
        " `publish`/`discard`, the draft's author.",
    ),
]
TlpOpt = Annotated[str | None, typer.Option(help="TLP for content without a marking (amber).")]
ReachOpt = Annotated[
    str | None, typer.Option(help="organisation, community, connected, federation")
]
GroupOpt = Annotated[list[int] | None, typer.Option("--group", help="Sharing-group id (repeat).")]


def ingest_command(
    source: Annotated[list[str], typer.Argument(help="Files, directories, URLs or MISP feeds.")],
    format: Annotated[str, typer.Option("--format", help=" | ".join(FORMATS))] = "auto",
    user: UserOpt = None,
    tlp: TlpOpt = None,
    reach: ReachOpt = None,
    group: GroupOpt = None,
    csv_preset: Annotated[str | None, typer.Option(help="CSV preset: csirtamericas")] = None,
    map: Annotated[list[str] | None, typer.Option("--map", help="CSV column=field")] = None,
    select_: Annotated[
        str | None,
        typer.Option("--select", help="publish: item numbers from 1, e.g. 1,3,5 (`drafts ID`)"),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="All or nothing: one invalid object refuses a file.")
    ] = False,
) -> None:
    """Import STIX, MISP (events or feeds), CSV feeds and reports (PDF, HTML, Markdown, text).

    Every object that passes the structural check is stored; the others are listed with
    their reason (exit code 1). With --strict, one invalid object refuses the whole file.
    Reports become drafts: review them, then `minga ingest publish DRAFT_ID`
    (or `minga ingest discard DRAFT_ID`; `minga ingest drafts` lists them).
    """
    _quiet_logs()
    try:
        with _node() as sessions:
            if source[0] in DRAFT_COMMANDS:
                _drafts(sessions, source, user, tlp, reach, group, select_)
                return
            if format not in FORMATS:
                raise BadInput(f"unknown format {format!r}: use {', '.join(FORMATS)}")
            with unit_of_work(sessions) as session:
                principal = _principal(session, user)
            options = Options(
                tlp=parse_tlp(tlp),
                reach=parse_reach(reach),
                group_ids=tuple(group or ()),
                csv=CsvMapping.parse(map or [], csv_preset),
                strict=strict,
            )
            code = _ingest(sessions, principal, source, format, options)
    except Unavailable as exc:
        stop(str(exc), exits.UNAVAILABLE)
    except (MingaError, BadInput) as exc:
        stop(str(getattr(exc, "message", exc)), exits.USAGE)
    raise typer.Exit(code)


def _ingest(
    sessions: sessionmaker[Session],
    principal: Principal,
    source: list[str],
    fmt: str,
    options: Options,
) -> int:
    with httpx.Client(timeout=sources.TIMEOUT, follow_redirects=True) as client:
        pending = [p for s in source for p in sources.plan(s, fmt, client)]
        table = Table("source", "status", "created", "existing", "notes")
        worst = 0
        problems: list[str] = []
        refused: list[str] = []
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeElapsedColumn(), console=err) as progress:
            task = progress.add_task("ingesting", total=len(pending))
            for item in pending:
                progress.update(task, description=item.name[:40])
                status, created, existing, notes, left = _one(sessions, principal, item, options)
                table.add_row(item.name, status, str(created), str(existing), notes)
                worst = max(worst, EXIT.get(status, 1))
                refused.extend(f"{item.name}: {line}" for line in left)
                if status not in ("done", "partial"):
                    problems.append(f"{item.name}: {notes}")
                progress.advance(task)
    out.print(table)
    for line in refused[:SHOWN_REFUSED]:
        err.print(f"[bold yellow]refused:[/] {escape(line)}", soft_wrap=True)
    if len(refused) > SHOWN_REFUSED:
        more = len(refused) - SHOWN_REFUSED
        err.print(f"[bold yellow]refused:[/] {more} more (the job result lists them)")
    for problem in problems:
        err.print(f"[bold red]error:[/] {escape(problem)}", soft_wrap=True)
    if problems:
        err.print("[bold red]error:[/] some sources were not imported.")
    elif refused:
        err.print("[bold yellow]warning:[/] some objects were refused (listed above).")
    return worst


def _one(
    sessions: sessionmaker[Session], principal: Principal, item: sources.Pending, options: Options
) -> tuple[str, int, int, str, list[str]]:
    """(status, created, existing, notes, a line per refused object) of one source."""
    try:
        upload = item.load()
        with unit_of_work(sessions) as session:
            job = jobs.enqueue(session, principal, upload, options)
    except MingaError as exc:
        return "failed", 0, 0, exc.message, []
    try:
        job = jobs.run_job(sessions, job.id)
    except OperationalError as exc:  # the outcome could not be recorded: the lease re-runs it
        said = f"the database is unavailable ({exc.orig}); the job runs later"
        return "unavailable", 0, 0, said, []
    result = job.result or {}
    notes = job.error or ""
    if "draft_id" in result:
        draft_id = result["draft_id"]
        notes = f"draft {draft_id} with {result['draft_items']} items to review"
        notes += f" (minga ingest drafts {draft_id})"
        notes = " ".join([notes, *result.get("draft_limits", [])])
    rejected = result.get("rejected") or (result.get("details") if job.error else None) or []
    if rejected and isinstance(rejected, list) and "line" in rejected[0]:
        lines = _first([f"line {r['line']}: {r['problem']}" for r in rejected], 10)
        notes = f"{notes} {len(rejected)} rows rejected: {lines}".strip()
    elif rejected and isinstance(rejected, list) and "problems" in rejected[0]:
        objs = [f"object {r.get('index')}: {'; '.join(r['problems'][:3])}" for r in rejected]
        notes = f"{notes}: {_first(objs, 3)}"
    skipped = result.get("skipped") or []
    if skipped:
        said = _first([s["problem"] for s in skipped], 5)
        notes = f"{notes} misp-stix reported {len(skipped)} problem(s): {said}".strip()
    status = job.status
    left = [f"{r.get('id') or 'object ' + str(r.get('index'))}: {'; '.join(r['problems'])}"
            for r in result.get("refused") or []]  # fmt: skip
    if result.get("refused_count"):
        status = "partial"
        notes = f"{notes} {result['refused_count']} objects refused".strip()
    if result.get("repaired_count"):
        notes = f"{notes} {result['repaired_count']} objects repaired (known quirks)".strip()
    if result.get("revoked_by_source_count"):
        notes = f"{notes} {result['revoked_by_source_count']} revoked by their source".strip()
    if result.get("already_known_count"):
        notes = f"{notes} {result['already_known_count']} already known (linked to your"
        notes += " existing indicators)"
    if result.get("also_reported_count"):
        names = sorted({n for r in result.get("also_reported") or [] for n in r["by"]})
        notes = f"{notes} {result['also_reported_count']} values also reported by"
        notes += f" {', '.join(names[:5])}" + (" and others" if len(names) > 5 else "")
    return status, result.get("created", 0), result.get("existing", 0), notes, left


def _first(problems: list[str], shown: int) -> str:
    more = f" (+{len(problems) - shown} more)" if len(problems) > shown else ""
    return "; ".join(problems[:shown]) + more


def _drafts(
    sessions: sessionmaker[Session],
    args: list[str],
    user: str | None,
    tlp: str | None,
    reach: str | None,
    group: list[int] | None,
    chosen: str | None,
) -> None:
    """Without --user, `drafts` lists every draft on the node and `publish`/`discard` act as
    the draft's author; with --user, as that user (their organisation's drafts only)."""
    command, rest = args[0], args[1:]
    if rest and (len(rest) != 1 or not rest[0].isdigit()):
        raise BadInput(f"write: minga ingest {command} DRAFT_ID")
    draft_id = int(rest[0]) if rest else None
    with unit_of_work(sessions) as session:
        if command == "drafts" and draft_id is None:
            _list_drafts(session, _principal(session, user) if user else None)
            return
        if draft_id is None:
            raise BadInput(f"write: minga ingest {command} DRAFT_ID")
        if user is None:
            author = accounts.get_user(session, drafts.draft_author(session, draft_id))
            principal = accounts.principal_for(session, author)
        else:
            principal = _principal(session, user)
        if command == "drafts":
            _show_items(drafts.get_draft(session, principal, draft_id))
            return
        if command == "discard":
            drafts.discard_draft(session, principal, draft_id)
            out.print(f"Draft {draft_id} discarded.")
            return
        draft = drafts.get_draft(session, principal, draft_id)
        picked = _picked(chosen, len(draft.items))
        result = drafts.publish_draft(
            session,
            principal,
            draft_id,
            selected=picked,
            tlp=parse_tlp(tlp) or Tlp.AMBER,
            reach=parse_reach(reach),
            group_ids=list(group or []),
        )
        report_id = drafts.get_draft(session, principal, draft_id).report_id
        wanted = set(picked) if picked is not None else {i.index for i in draft.items if i.selected}
        benign = [i for i in draft.items if i.benign and i.index in wanted]
    for item in benign:
        err.print(
            f"[bold yellow]warning:[/] item {item.index + 1} {escape(item.value)!r} is on a"
            " warning list of benign values (large platforms, documentation ranges, system"
            " programs): published as you asked, but check it is really malicious.",
            soft_wrap=True,
        )
    out.print(
        f"Draft {draft_id} published as {report_id} with {len(result.created)} objects"
        f" (as {principal.user_name or principal.user_id}).",
        soft_wrap=True,
    )
    if result.linked:  # values the organisation had published: linked, not copied
        known = ", ".join(v for k in result.linked for v in k.values)
        out.print(f"Already known (linked to your indicators): {known}", soft_wrap=True)


def _picked(chosen: str | None, count: int) -> list[int] | None:
    """--select 1,3,5 (numbered from 1, as `minga ingest drafts ID` shows) as item indices."""
    if not chosen:
        return None
    try:
        numbers = [int(n) for n in chosen.split(",") if n.strip()]
    except ValueError:
        raise BadInput("--select takes item numbers separated by commas, e.g. 1,3,5") from None
    wrong = [n for n in numbers if not 1 <= n <= count]
    if wrong or not numbers:
        raise BadInput(
            f"--select: items are numbered 1 to {count} (`minga ingest drafts ID` lists them);"
            f" no item {', '.join(map(str, wrong)) or 'given'}"
        )
    return [n - 1 for n in numbers]


def _list_drafts(session: Session, principal: Principal | None) -> None:
    table = Table("id", "status", "lang", "items", "author", "name")
    if principal is None:
        names = {u.id: u.name for u in accounts.list_users(session, None)}
        rows = [(d, names.get(uid, str(uid))) for d, uid in drafts.node_drafts(session)]
    else:
        rows = [(d, principal.user_name or "") for d in drafts.list_drafts(session, principal)]
    for d, author in rows:
        table.add_row(str(d.id), d.status, d.language, str(len(d.items)), author, d.name)
    out.print(table)
    out.print("`minga ingest drafts ID` lists a draft's items, numbered for --select.")


def _show_items(draft: drafts.Draft) -> None:
    out.print(f"Draft {draft.id} ({draft.status}): {escape(draft.name)}", soft_wrap=True)
    table = Table("#", "publish", "type", "value", "note")
    for item in draft.items:
        note = "warning list" if item.benign else ""
        mark = "yes" if item.selected else ""
        table.add_row(str(item.index + 1), mark, item.type, escape(item.value), note)
    out.print(table)
    out.print(
        "`minga ingest publish ID` publishes the items marked yes; `--select 1,3` picks others."
    )


def worker_command(
    once: Annotated[bool, typer.Option(help="Stop when the queue is empty.")] = False,
) -> None:
    """Run queued ingest jobs (those uploaded with wait=false) until stopped."""
    _quiet_logs()
    try:
        with _node() as sessions:
            count = jobs.work(sessions, once=once)
    except Unavailable as exc:
        stop(str(exc), exits.UNAVAILABLE)
    except BadInput as exc:
        stop(str(exc), exits.USAGE)
    out.print(f"{count} ingest jobs run.")
