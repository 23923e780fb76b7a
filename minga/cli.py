"""The `minga` command: serve, init, demo-data, and organisation/user/token/group management."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from minga.accounts import invitations
from minga.accounts import service as accounts
from minga.accounts.cli import add_signin_commands, give_password
from minga.accounts.models import Organisation, User
from minga.accounts.node import set_operator_org
from minga.accounts.places import SECTORS
from minga.advisories.cli import advisory_app
from minga.assessments.cli import assessments_app
from minga.correlate.cli import correlate_app, lookup_command, warninglist_app
from minga.correlate.export_cli import export_command, feed_token_app
from minga.correlate.score_cli import score_app
from minga.correlate.scores import configure_from as configure_scores
from minga.db import make_engine, make_sessionmaker, unit_of_work
from minga.errors import MingaError
from minga.events.command import worker_command as bus_worker_command
from minga.events.notify_cli import constituency_app
from minga.exercises.cli import exercise_app, scenario_app
from minga.federation.cli import node_app, peer_app
from minga.federation.keys import ensure_key
from minga.federation.remote import remote_label
from minga.incidents.cli import incident_app
from minga.ingest.command import ingest_command, worker_command
from minga.knowledge.cli import knowledge_app
from minga.ops import exits
from minga.ops.cli import add_ops_commands
from minga.ops.exits import database_problem, load_settings
from minga.sensor.cli import sensor_app
from minga.taxii.cli import taxii_app

app = typer.Typer(no_args_is_help=True, help="Minga: threat-intelligence sharing for CSIRTs.")
org_app = typer.Typer(no_args_is_help=True, help="Member organisations.")
user_app = typer.Typer(no_args_is_help=True, help="Users and machine accounts.")
token_app = typer.Typer(no_args_is_help=True, help="API tokens (shown once).")
group_app = typer.Typer(no_args_is_help=True, help="Sharing groups.")
invite_app = typer.Typer(no_args_is_help=True, help="One-time invitations into an organisation.")
app.add_typer(org_app, name="org")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(group_app, name="group")
app.add_typer(invite_app, name="invite")
add_signin_commands(user_app)  # set-password, reset-totp, link-oidc (minga/accounts/cli.py)
app.command("ingest")(ingest_command)
app.command("ingest-worker")(worker_command)
app.command("worker")(bus_worker_command)
app.add_typer(taxii_app, name="taxii")
app.add_typer(node_app, name="node")
app.add_typer(peer_app, name="peer")
app.add_typer(knowledge_app, name="knowledge")
app.add_typer(assessments_app, name="assessments")
app.add_typer(advisory_app, name="advisory")
app.add_typer(incident_app, name="incident")
app.add_typer(exercise_app, name="exercise")
app.add_typer(scenario_app, name="scenario")
add_ops_commands(app)  # backup, restore, check (minga/ops/cli.py)
app.add_typer(score_app, name="score")
app.add_typer(sensor_app, name="sensor")
app.command("lookup")(lookup_command)
app.add_typer(correlate_app, name="correlate")
app.add_typer(warninglist_app, name="warninglist")
app.add_typer(constituency_app, name="constituency")
app.command("export")(export_command)
app.add_typer(feed_token_app, name="feed-token")

out = Console()
err = Console(stderr=True)
DEFAULT_OPERATOR = "Node operator"


def fail(message: str, code: int = exits.FAILED) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


@contextmanager
def session_scope(migrate: bool = True) -> Iterator[Session]:
    """A committed unit of work on the configured database; errors become one sentence
    with the exit code of the README's table (minga/ops/exits.py)."""
    from minga.migrate import upgrade

    settings = load_settings()
    try:
        engine = make_engine(settings.database_url)
    except ArgumentError as exc:
        raise fail(database_problem(settings.database_url, exc), exits.USAGE) from None
    configure_scores(settings)  # scores computed by this command use the node's settings
    try:
        if migrate:
            upgrade(engine)
        with unit_of_work(make_sessionmaker(engine)) as session:
            yield session
    except MingaError as exc:
        raise fail(exc.message, exits.USAGE) from None
    except (OperationalError, InterfaceError) as exc:
        raise fail(database_problem(settings.database_url, exc), exits.UNAVAILABLE) from None
    finally:
        engine.dispose()


def _org_by(session: Session, ref: str) -> Organisation:
    org = session.get(Organisation, int(ref)) if ref.isdigit() else None
    org = org or session.scalar(select(Organisation).where(Organisation.name == ref))
    if org is None:
        raise MingaError(f"no organisation {ref!r} (give its id or exact name)")
    return org


def _user_by(session: Session, ref: str) -> User:
    user = session.get(User, int(ref)) if ref.isdigit() else None
    return user or accounts.find_user(session, ref)


@app.command()
def init(
    admin: Annotated[str, typer.Option(help="Name of the first admin user.")] = "admin",
    org: Annotated[str, typer.Option(help="Organisation that runs this node.")] = DEFAULT_OPERATOR,
    country: Annotated[str, typer.Option(help="ISO country code of that organisation.")] = "CR",
    member: Annotated[
        bool | None,
        typer.Option(
            help="Whether that organisation is one of the community's members (a national CSIRT"
            " running its own node is); default: not for the default name 'Node operator'."
        ),
    ] = None,
) -> None:
    """Create the database and the first admin with a token (printed once)."""
    with session_scope() as session:
        if session.scalar(select(User.id).limit(1)) is not None:
            out.print("The node is already initialised; nothing changed.")
            return
        operator = accounts.create_organisation(
            session,
            None,
            name=org,
            country=country,
            sector="government",
            kind="csirt",
        )
        # The default operator organisation runs the node; it is not one of its members.
        operator.member = member if member is not None else org != DEFAULT_OPERATOR
        set_operator_org(session, operator.id)  # its admins are the node operator
        ensure_key(session)  # the node's Ed25519 identity for federation
        user = accounts.create_user(session, None, org_id=operator.id, name=admin, role="admin")
        _, issued = accounts.issue_token(session, None, user_id=user.id, label="first admin")
        password = give_password(session, user)
    out.print(f"Initialised. Admin [bold]{admin}[/] of [bold]{org}[/]. API token (shown once):")
    out.print(issued.token, style="bold green", soft_wrap=True)
    out.print(f"Web sign-in: user [bold]{admin}[/], password (shown once; the authenticator")
    out.print("app is set up at first sign-in):")
    out.print(password, style="bold green", soft_wrap=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (MINGA_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (MINGA_PORT).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes (MINGA_WORKERS; default: one per core)."),
    ] = None,
) -> None:
    """Run the node (migrates the database first)."""
    from minga import serve as serving
    from minga.db import cores, engine_for
    from minga.migrate import upgrade

    settings = load_settings()
    count = workers or settings.workers or cores()
    bind_host, bind_port = host or settings.host, port or settings.port
    taken = exits.port_taken(bind_host, bind_port)
    if taken:
        raise fail(taken, exits.UNAVAILABLE)
    try:
        engine = engine_for(settings.model_copy(update={"workers": count}))
    except ArgumentError as exc:
        raise fail(database_problem(settings.database_url, exc), exits.USAGE) from None
    try:
        upgrade(engine)
        serving.run(settings, engine, host=bind_host, port=bind_port, workers=count)
    except MingaError as exc:
        raise fail(exc.message, exits.USAGE) from None
    except (OperationalError, InterfaceError) as exc:
        raise fail(database_problem(settings.database_url, exc), exits.UNAVAILABLE) from None
    finally:
        engine.dispose()


@app.command("demo-data")
def demo_data() -> None:
    """Load the demo community (hub, CSIRTs of GT, CR, CO, MX, DO, the 2022 Costa Rica campaign)."""
    from minga.demo.loader import community, load

    with session_scope() as session:
        result = load(session)
        people = []
        if not result.already_loaded:
            for u in community()["users"]:
                person = accounts.find_user(session, u["name"])
                people.append((person.name, person.role, give_password(session, person)))
    if result.already_loaded:
        out.print("The demo community is already loaded; nothing changed.")
        return
    out.print(
        f"Loaded {result.organisations} organisations, {result.users} users, "
        f"{result.groups} sharing groups and {result.objects} objects."
    )
    out.print("Demo people and their web sign-in passwords (shown once; each sets up an")
    out.print("authenticator app at first sign-in, then changes the password under their name):")
    for name, role, password in people:
        out.print(f"  {name:<20} {password:<26} [dim]{role}[/]", soft_wrap=True)
    out.print("API tokens for scripts, one per organisation (shown once):")
    for org_name, user_name, token in result.tokens:
        out.print(f"  {user_name:<20} {token}  [dim]{org_name}[/]", soft_wrap=True)


@org_app.command("list")
def org_list() -> None:
    with session_scope() as session:
        table = Table("id", "name", "country", "sector", "kind", "identity", "remote", "member")
        for o in accounts.list_organisations(session):
            member = "yes" if o.member else "no"
            table.add_row(
                str(o.id), o.name, o.country, o.sector, o.kind, o.identity_ref, remote_label(o),
                member,
            )  # fmt: skip
    out.print(table)


@org_app.command("create")
def org_create(
    name: str,
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2, e.g. GT")],
    sector: Annotated[str, typer.Option(help=", ".join(SECTORS))],
    kind: Annotated[str, typer.Option(help=", ".join(accounts.ORG_KINDS))] = "government",
) -> None:
    with session_scope() as session:
        org = accounts.create_organisation(
            session, None, name=name, country=country, sector=sector, kind=kind
        )
        out.print(f"Organisation {org.id} {org.name!r} created ({org.identity_ref}).")


@user_app.command("list")
def user_list(org: Annotated[str | None, typer.Option(help="id or name")] = None) -> None:
    with session_scope() as session:
        org_id = _org_by(session, org).id if org else None
        table = Table("id", "name", "organisation", "role", "active")
        names = {o.id: o.name for o in accounts.list_organisations(session)}
        for u in accounts.list_users(session, org_id):
            table.add_row(str(u.id), u.name, names[u.org_id], u.role, "yes" if u.active else "no")
    out.print(table)


@user_app.command("create")
def user_create(
    name: str,
    org: Annotated[str, typer.Option(help="organisation id or name")],
    role: Annotated[str, typer.Option(help="admin, coordinator, analyst, reader, machine")],
) -> None:
    with session_scope() as session:
        user = accounts.create_user(
            session, None, org_id=_org_by(session, org).id, name=name, role=role
        )
        out.print(f"User {user.id} {user.name!r} created with role {user.role}.")


@user_app.command("disable")
def user_disable(user: str) -> None:
    with session_scope() as session:
        found = accounts.set_user_active(session, None, _user_by(session, user).id, False)
        out.print(f"User {found.name!r} disabled; their tokens stop working now.")


@token_app.command("issue")
def token_issue(
    user: Annotated[str, typer.Option(help="user id or name")],
    label: str = "",
    expires_days: int | None = None,
) -> None:
    with session_scope() as session:
        _, issued = accounts.issue_token(
            session,
            None,
            user_id=_user_by(session, user).id,
            label=label,
            expires_days=expires_days,
        )
    out.print("API token (shown once):")
    out.print(issued.token, style="bold green", soft_wrap=True)


@token_app.command("list")
def token_list(user: Annotated[str | None, typer.Option(help="user id or name")] = None) -> None:
    with session_scope() as session:
        user_id = _user_by(session, user).id if user else None
        table = Table("public id", "user", "label", "created", "expires", "revoked")
        for column in table.columns[:2]:  # ids and names whole; the rest wraps at 80 columns
            column.no_wrap = True
        names = {u.id: u.name for u in accounts.list_users(session, None)}
        for t in accounts.list_tokens(session, None, user_id):
            table.add_row(
                t.public_id,
                names.get(t.user_id, str(t.user_id)),
                t.label,
                f"{t.created_at:%Y-%m-%d %H:%M}",
                f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "",
                f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "",
            )
    out.print(table)


@token_app.command("revoke")
def token_revoke(public_id: str) -> None:
    with session_scope() as session:
        accounts.revoke_token(session, None, public_id)
    out.print(f"Token {public_id} revoked.")


@group_app.command("list")
def group_list() -> None:
    with session_scope() as session:
        names = {o.id: o.name for o in accounts.list_organisations(session)}
        table = Table("id", "name", "owner", "members")
        for g in accounts.list_groups(session):
            members = ", ".join(names[m] for m in g.member_org_ids)
            table.add_row(str(g.id), g.name, names[g.owner_org_id], members)
    out.print(table)


@group_app.command("create")
def group_create(
    name: str,
    owner: Annotated[str, typer.Option(help="owning organisation id or name")],
    member: Annotated[list[str] | None, typer.Option(help="member organisation (repeat)")] = None,
    description: str = "",
) -> None:
    with session_scope() as session:
        members = [_org_by(session, m).id for m in member or []]
        group = accounts.create_group(
            session,
            None,
            name=name,
            description=description,
            owner_org_id=_org_by(session, owner).id,
            member_org_ids=members,
        )
        out.print(
            f"Sharing group {group.id} {group.name!r} with {len(group.member_org_ids)} members."
        )


@invite_app.command("create")
def invite_create(
    org: Annotated[str, typer.Option(help="organisation id or name")],
    role: Annotated[str, typer.Option(help="admin, coordinator, analyst, reader, machine")],
    note: str = "",
    hours: Annotated[int, typer.Option(help="hours until it expires")] = 72,
) -> None:
    """An invitation whose secret (printed once) the invited person redeems themselves."""
    with session_scope() as session:
        row, secret = invitations.create_invitation(
            session, None, org_id=_org_by(session, org).id, role=role, note=note, ttl_hours=hours
        )
        expires = f"{row.expires_at:%Y-%m-%d %H:%M} UTC"
    out.print(f"Invitation {row.id} ({role}) until {expires}. Secret (shown once):")
    out.print(secret, style="bold green", soft_wrap=True)
    where = invitations.redeem_at(row.role, secret)
    out.print(f"Redeem at (on this node): {where}", soft_wrap=True, highlight=False)


@invite_app.command("list")
def invite_list(org: Annotated[str | None, typer.Option(help="id or name")] = None) -> None:
    with session_scope() as session:
        names = {o.id: o.name for o in accounts.list_organisations(session)}
        org_id = _org_by(session, org).id if org else None
        table = Table("id", "organisation", "role", "status", "expires", "note")
        for i in invitations.list_invitations(session, None, org_id):
            table.add_row(
                str(i.id),
                names[i.org_id],
                i.role,
                invitations.status(i),
                f"{i.expires_at:%Y-%m-%d %H:%M}",
                i.note,
            )
    out.print(table)


@invite_app.command("revoke")
def invite_revoke(invitation_id: int) -> None:
    with session_scope() as session:
        invitations.revoke_invitation(session, None, invitation_id)
    out.print(f"Invitation {invitation_id} revoked.")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(exits.INTERRUPTED)
