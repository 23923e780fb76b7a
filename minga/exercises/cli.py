"""`minga exercise create|list|start|status|pause|resume|end|report` and
`minga scenario list|import|export`: what a facilitator runs a drill with from a terminal."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.accounts import service as accounts
from minga.accounts.models import Organisation, User
from minga.errors import InvalidInput, MingaError
from minga.exercises import play, run, service
from minga.exercises import scenario as fmt
from minga.exercises.clock import minute_now
from minga.exercises.mailing import mailer_for
from minga.incidents.service import utcnow
from minga.policy import Principal
from minga.settings import Settings

exercise_app = typer.Typer(no_args_is_help=True, help="Cyber drills: run an exercise.")
scenario_app = typer.Typer(no_args_is_help=True, help="Drill scenarios: list, import, export.")
out = Console()
UserOpt = Annotated[str | None, typer.Option("--user", help="Act as this user (default: admin).")]
ExerciseArg = Annotated[int, typer.Argument(help="Exercise id.")]


def _scope() -> AbstractContextManager[Session]:
    from minga.cli import session_scope

    return session_scope()


def _settings() -> Settings:
    from minga.cli import fail

    try:
        return Settings()
    except Exception as exc:  # pydantic's ValidationError lists every bad variable
        raise fail(f"bad MINGA_* setting: {exc}", 2) from None


def _principal(session: Session, name: str | None) -> Principal:
    if name:
        user = accounts.find_user(session, name)
    else:
        found = session.scalar(select(User).where(User.role == "admin").order_by(User.id))
        if found is None:
            raise MingaError("no admin user: run `minga init` or give --user NAME")
        user = found
    return accounts.principal_for(session, user)


def _org(session: Session, ref: str) -> int:
    org = session.get(Organisation, int(ref)) if ref.isdigit() else None
    org = org or session.scalar(select(Organisation).where(Organisation.name == ref))
    if org is None:
        raise MingaError(f"no organisation {ref!r} (give its id or exact name)")
    return org.id


def _show(session: Session, principal: Principal, exercise_id: int, settings: Settings) -> None:
    now = utcnow()
    ex = service.get_exercise(session, principal, exercise_id)
    run.tick(session, ex, now, run.RunContext(settings.incident_severities,
                                                    mailer_for(settings)))  # fmt: skip
    out.print(f"[bold]#{ex.id} {ex.name}[/] · EXERCISE {ex.ref}", highlight=False)
    out.print(f"status {ex.status} · minute {minute_now(ex, now):.1f} · speed ×{ex.speed}"
              f" · {len(play.inbox(session, principal, ex))} inject(s) delivered",
              highlight=False)  # fmt: skip
    table = Table("team", "points", "met", "missed", "pending")
    for t in play.scores(session, ex):
        table.add_row(t.name, f"{t.points}/{t.max_points}", str(t.met), str(t.missed),
                      str(t.pending))  # fmt: skip
    out.print(table)


@exercise_app.command("create")
def exercise_create(
    scenario: Annotated[str, typer.Argument(help="Scenario id or key.")],
    name: Annotated[str, typer.Option(help="Name of this run.")],
    team: Annotated[list[str], typer.Option("--team", help="Team organisation (repeat).")],
    lang: Annotated[str, typer.Option(help="es, pt or en: language of the injects.")] = "en",
    speed: Annotated[float, typer.Option(help="Exercise minutes per real minute.")] = 1.0,
    evaluator: Annotated[
        list[str] | None, typer.Option("--evaluator", help="Evaluator user (repeat).")
    ] = None,
    federated: Annotated[bool, typer.Option(help="Let its content travel to peers.")] = False,
    user: UserOpt = None,
) -> None:
    """Create a run of a scenario, directed by the user; `start` it when ready."""
    with _scope() as session:
        principal = _principal(session, user)
        sc = service.get_scenario(session, scenario)
        evaluators = [accounts.find_user(session, e).id for e in evaluator or []]
        ex = service.create_exercise(
            session, principal, scenario_id=sc.id, name=name, lang=lang, speed=speed,
            team_org_ids=[_org(session, t) for t in team], evaluator_user_ids=evaluators,
            federated=federated, at=utcnow(),
        )  # fmt: skip
        exercise_id = ex.id
    out.print(f"Exercise [bold]#{exercise_id}[/] created (planned).", highlight=False)


@exercise_app.command("list")
def exercise_list(user: UserOpt = None) -> None:
    """Exercises the user plays in, directs or evaluates."""
    with _scope() as session:
        principal = _principal(session, user)
        table = Table("id", "name", "status", "speed", "ref")
        for ex in service.list_exercises(session, principal):
            table.add_row(str(ex.id), ex.name, ex.status, f"×{ex.speed}", ex.ref)
    out.print(table)


def _change(exercise_id: int, what: str, user: str | None) -> None:
    settings = _settings()
    with _scope() as session:
        principal = _principal(session, user)
        ctx = run.RunContext(settings.incident_severities, mailer_for(settings))
        run.change(session, principal, exercise_id, what, utcnow(), ctx)
        _show(session, principal, exercise_id, settings)


@exercise_app.command("start")
def exercise_start(exercise_id: ExerciseArg, user: UserOpt = None) -> None:
    """Start the exercise clock; injects at minute 0 are delivered at once."""
    _change(exercise_id, "start", user)


@exercise_app.command("pause")
def exercise_pause(exercise_id: ExerciseArg, user: UserOpt = None) -> None:
    """Stop the exercise clock (nothing is delivered, no deadline runs)."""
    _change(exercise_id, "pause", user)


@exercise_app.command("resume")
def exercise_resume(exercise_id: ExerciseArg, user: UserOpt = None) -> None:
    _change(exercise_id, "resume", user)


@exercise_app.command("end")
def exercise_end(exercise_id: ExerciseArg, user: UserOpt = None) -> None:
    """End the exercise: what the platform did not observe is scored as missed."""
    _change(exercise_id, "end", user)


@exercise_app.command("status")
def exercise_status(exercise_id: ExerciseArg, user: UserOpt = None) -> None:
    """Clock and scores per team (what is due is delivered first)."""
    settings = _settings()
    with _scope() as session:
        _show(session, _principal(session, user), exercise_id, settings)


@exercise_app.command("report")
def exercise_report(
    exercise_id: ExerciseArg,
    output: Annotated[Path, typer.Option("--out", help="File to write: .html or .pdf.")],
    lang: Annotated[str, typer.Option(help="es, pt or en.")] = "en",
    user: UserOpt = None,
) -> None:
    """Write the after-action report as HTML or PDF."""
    from minga.exercises.report import report_html
    from minga.web import i18n
    from minga.web.render import build_state

    if lang not in ("es", "pt", "en") or output.suffix not in (".html", ".pdf"):
        from minga.cli import fail

        raise fail("--lang is es, pt or en and --out ends in .html or .pdf", 2)
    state = build_state(b"cli-report-rendering-key-unused!")
    i18n.activate(state.catalogs[lang])
    with _scope() as session:
        html = report_html(session, _principal(session, user), exercise_id, state.env, lang,
                           utcnow())  # fmt: skip
    if output.suffix == ".pdf":
        from minga.reports.pdf import html_to_pdf

        output.write_bytes(html_to_pdf(html))
    else:
        output.write_text(html, encoding="utf-8")
    out.print(f"Report written to {output}.", highlight=False)


@scenario_app.command("list")
def scenario_list() -> None:
    """The scenarios of this node (shipped and imported)."""
    with _scope() as session:
        table = Table("id", "key", "title", "source")
        for sc in service.list_scenarios(session, utcnow()):
            table.add_row(str(sc.id), sc.key, sc.title, sc.source)
    out.print(table)


@scenario_app.command("import")
def scenario_import(
    file: Annotated[Path, typer.Argument(help="Scenario JSON (format minga-scenario/1).")],
    user: UserOpt = None,
) -> None:
    """Import a scenario; every problem is listed when it is invalid."""
    from minga.cli import fail

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror}", 2) from None
    try:
        doc = fmt.parse(data)
    except InvalidInput as exc:
        for line in exc.details or []:
            typer.echo(f"  {line}", err=True)
        raise fail(f"{file}: {exc.message}", 2) from None
    with _scope() as session:
        key = service.import_scenario(session, _principal(session, user), doc, utcnow()).key
    out.print(f"Scenario [bold]{key}[/] imported.", highlight=False)


@scenario_app.command("export")
def scenario_export(
    scenario: Annotated[str, typer.Argument(help="Scenario id or key.")],
    output: Annotated[Path | None, typer.Option("--out", help="File (default: stdout).")] = None,
) -> None:
    """The scenario as JSON, to share with another node."""
    with _scope() as session:
        doc = service.doc_of(service.get_scenario(session, scenario))
    text = orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
