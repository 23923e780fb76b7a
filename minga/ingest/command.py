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
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import service as accounts
from minga.accounts.models import User
from minga.db import make_engine, make_sessionmaker, unit_of_work
from minga.errors import MingaError
from minga.ingest import drafts, jobs, sources
from minga.ingest.csvfeed import CsvMapping
from minga.ingest.pipeline import FORMATS, Options
from minga.intel.service import parse_reach, parse_tlp
from minga.policy import Principal, Tlp
from minga.settings import Settings

out = Console()
err = Console(stderr=True)
DRAFT_COMMANDS = ("publish", "discard", "drafts")
# Exit code per job outcome: bad input 2, the database unusable 3 (as every command), else 1.
# "partial": stored, but some objects were refused (each listed with its reason).
EXIT = {"done": 0, "partial": 1, "failed": 2, "dead": 3, "unavailable": 3}
SHOWN_REFUSED = 20  # refused objects listed after the table (the job result keeps 1000)


class BadInput(Exception):
    """Ends the command with exit code 2 and one sentence."""


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

    try:
        settings = Settings()
    except Exception as exc:  # pydantic lists every bad variable
        raise BadInput(f"bad MINGA_* setting: {exc}") from None
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        yield make_sessionmaker(engine)
    except OperationalError as exc:
        raise BadInput(f"cannot use the database {settings.database_url}: {exc.orig}") from None
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


UserOpt = Annotated[str | None, typer.Option("--user", help="Act as this user (default: admin).")]
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
        str | None, typer.Option("--select", help="publish: item numbers, e.g. 0,2,5")
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
    except (MingaError, BadInput) as exc:
        err.print(
            f"[bold red]error:[/] {escape(str(getattr(exc, 'message', exc)))}", soft_wrap=True
        )
        raise typer.Exit(2) from None
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
        notes = f"draft {result['draft_id']} with {result['draft_items']} items to review"
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
    command, rest = args[0], args[1:]
    with unit_of_work(sessions) as session:
        principal = _principal(session, user)
        if command == "drafts":
            table = Table("id", "status", "language", "items", "name")
            for d in drafts.list_drafts(session, principal):
                table.add_row(str(d.id), d.status, d.language, str(len(d.items)), d.name)
            out.print(table)
            return
        if len(rest) != 1 or not rest[0].isdigit():
            raise BadInput(f"write: minga ingest {command} DRAFT_ID")
        draft_id = int(rest[0])
        if command == "discard":
            drafts.discard_draft(session, principal, draft_id)
            out.print(f"Draft {draft_id} discarded.")
            return
        try:
            picked = [int(n) for n in chosen.split(",")] if chosen else None
        except ValueError:
            raise BadInput("--select takes item numbers separated by commas, e.g. 0,2,5") from None
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
    out.print(
        f"Draft {draft_id} published as {report_id} with {len(result.created)} objects.",
        soft_wrap=True,
    )
    if result.linked:  # values the organisation had published: linked, not copied
        known = ", ".join(v for k in result.linked for v in k.values)
        out.print(f"Already known (linked to your indicators): {known}", soft_wrap=True)


def worker_command(
    once: Annotated[bool, typer.Option(help="Stop when the queue is empty.")] = False,
) -> None:
    """Run queued ingest jobs (those uploaded with wait=false) until stopped."""
    _quiet_logs()
    try:
        with _node() as sessions:
            count = jobs.work(sessions, once=once)
    except BadInput as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    out.print(f"{count} ingest jobs run.")
