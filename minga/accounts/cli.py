"""`minga user set-password | reset-totp | link-oidc`: a person's web sign-in, from the node."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from minga.accounts import oidc, signin, websessions
from minga.accounts import service as accounts
from minga.accounts.models import User
from minga.audit import record
from minga.errors import InvalidInput
from minga.settings import Settings

out = Console()
PROBLEMS = {
    "too-short": "the password is too short: use at least {n} characters",
    "common": "the password is one of the most common passwords; choose another",
    "name": "the password may not contain the user name",
}


# `minga.cli` imports this module, so its helpers are imported when a command runs.
def _scope() -> AbstractContextManager[Session]:
    from minga.cli import session_scope

    return session_scope()


def _person(session: Session, ref: str) -> User:
    user = session.get(User, int(ref)) if ref.isdigit() else None
    user = user or accounts.find_user(session, ref)
    if user.role == "machine":
        raise InvalidInput(f"{user.name} is a machine account: it uses API tokens, not sign-in")
    return user


def give_password(session: Session, user: User, password: str | None = None) -> str:
    """Set a person's password (a generated one if None) and end their web sessions."""
    password = password if password is not None else signin.generate_password()
    problem = signin.password_problem(password, user.name, Settings().password_min_length)
    if problem is not None:
        n = Settings().password_min_length
        raise InvalidInput(PROBLEMS[problem].format(n=n))
    signin.set_password(session, user.id, password)
    websessions.end_all(session, user.id)
    record(session, None, "user.password", "user", user.id, by="cli")
    return password


def set_password(
    name: Annotated[str, typer.Argument(help="User name or id.")],
    generate: Annotated[
        bool, typer.Option("--generate", help="Make a random password and print it once.")
    ] = False,
) -> None:
    """Set a person's web sign-in password (asked twice, or generated); ends their sessions."""
    typed = None
    if not generate:
        typed = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with _scope() as session:
        user = _person(session, name)
        password = give_password(session, user, typed)
    if generate:
        out.print(f"Password of [bold]{user.name}[/] (shown once):")
        out.print(password, style="bold green", soft_wrap=True)
    else:
        out.print(f"Password of [bold]{user.name}[/] changed; their web sessions ended.")


def reset_totp(name: Annotated[str, typer.Argument(help="User name or id.")]) -> None:
    """Forget a person's authenticator app and recovery codes; they enrol at next sign-in."""
    with _scope() as session:
        user = _person(session, name)
        signin.reset_totp(session, user.id)
        websessions.end_all(session, user.id)
        record(session, None, "user.totp_reset", "user", user.id, by="cli")
    out.print(f"Second factor of [bold]{user.name}[/] reset; they set it up at next sign-in.")


def link_oidc(
    name: Annotated[str, typer.Argument(help="User name or id.")],
    subject: Annotated[str, typer.Option(help="The provider's `sub` for this person.")],
    issuer: Annotated[str, typer.Option(help="Provider (default MINGA_OIDC_ISSUER).")] = "",
) -> None:
    """Link an OpenID Connect identity (issuer + subject) to a person."""
    issuer = issuer or Settings().oidc_issuer
    if not issuer or not subject.strip():
        raise _fail("give --subject, and --issuer when MINGA_OIDC_ISSUER is not set")
    with _scope() as session:
        user = _person(session, name)
        oidc.link_subject(session, user.id, issuer, subject.strip())
    out.print(f"Linked {subject} at {issuer} to [bold]{user.name}[/].")


def _fail(message: str) -> typer.Exit:
    from minga.cli import fail

    return fail(message, 2)


def add_signin_commands(user_app: typer.Typer) -> None:
    user_app.command("set-password")(set_password)
    user_app.command("reset-totp")(reset_totp)
    user_app.command("link-oidc")(link_oidc)
