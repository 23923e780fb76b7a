"""Admin pages: organisations, users, API tokens, invitations and sharing groups.

Who may change what is decided by `minga.accounts.service` (which asks `minga.policy`); these
pages only hide buttons a role cannot use and show the service's refusal when it comes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from minga.accounts import invitations
from minga.accounts import service as accounts
from minga.api.deps import DbId
from minga.api.errors import status_of
from minga.errors import InvalidInput, MingaError
from minga.policy import Action, Role, Target, may
from minga.web import views
from minga.web.render import Ctx, Page, PageRoute, redirect, render

router = APIRouter(prefix="/admin", route_class=PageRoute, include_in_schema=False)


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _page(ctx: Ctx, template: str, status: int = 200, **values: Any) -> Response:
    return render(ctx, template, status, section=template.removeprefix("admin_")[:-5], **values)


# -- organisations -------------------------------------------------------------------------


def _orgs_page(
    ctx: Ctx, status: int = 200, error: str = "", v: dict[str, str] | None = None
) -> Response:
    return _page(
        ctx,
        "admin_orgs.html",
        status,
        orgs=accounts.list_organisations(ctx.session),
        kinds=accounts.ORG_KINDS,
        error=error,
        v=v or {"kind": "csirt"},
    )


@router.get("", response_class=HTMLResponse)
@router.get("/organisations", response_class=HTMLResponse)
def organisations(ctx: Page) -> Response:
    return _orgs_page(ctx)


@router.post("/organisations", response_class=HTMLResponse)
def create_organisation(ctx: Page) -> Response:
    v = {k: ctx.field(k) for k in ("name", "country", "sector", "kind", "description")}
    try:
        accounts.create_organisation(ctx.session, ctx.me, **v)
        ctx.session.commit()
    except MingaError as exc:
        return _orgs_page(ctx, 422, exc.message, v)
    return redirect(ctx, "/admin/organisations?done=org")


# -- users ---------------------------------------------------------------------------------


def _users_page(
    ctx: Ctx, status: int = 200, error: str = "", v: dict[str, str] | None = None
) -> Response:
    me = ctx.me
    # An organisation admin adds accounts to its own organisation only.
    orgs = views.organisations(ctx.session)
    return _page(
        ctx,
        "admin_users.html",
        status,
        users=accounts.list_users(ctx.session, None, me),
        orgs=orgs,
        choosable=[orgs[me.org_id]],
        roles=[r.value for r in Role],
        error=error,
        v=v or {"role": "analyst", "org_id": str(me.org_id)},
    )


@router.get("/users", response_class=HTMLResponse)
def users(ctx: Page) -> Response:
    return _users_page(ctx)


@router.post("/users", response_class=HTMLResponse)
def create_user(ctx: Page) -> Response:
    v = {k: ctx.field(k) for k in ("name", "role", "org_id")}
    try:
        org_id = _int(v["org_id"])
        if org_id is None:
            raise InvalidInput("choose an organisation")
        accounts.create_user(ctx.session, ctx.me, org_id=org_id, name=v["name"], role=v["role"])
        ctx.session.commit()
    except MingaError as exc:
        return _users_page(ctx, 422, exc.message, v)
    return redirect(ctx, "/admin/users?done=user")


@router.post("/users/{user_id}/active", response_class=HTMLResponse)
def set_active(ctx: Page, user_id: int) -> Response:
    accounts.set_user_active(ctx.session, ctx.me, user_id, ctx.field("active") == "1")
    ctx.session.commit()
    return redirect(ctx, "/admin/users?done=active")


# -- tokens --------------------------------------------------------------------------------


def _tokens_page(ctx: Ctx, status: int = 200, error: str = "", issued: str = "") -> Response:
    me = ctx.me
    people = accounts.list_users(ctx.session, me.org_id, me)
    return _page(
        ctx,
        "admin_tokens.html",
        status,
        tokens=accounts.list_tokens(ctx.session, me, None),
        users={u.id: u for u in people},
        # Yourself, and (organisation admins) the machine accounts of your organisation.
        issuable=[
            u for u in people if u.active and may(me, Action.ISSUE_TOKEN, accounts.user_target(u))
        ],
        error=error,
        issued=issued,
    )


@router.get("/tokens", response_class=HTMLResponse)
def tokens(ctx: Page) -> Response:
    return _tokens_page(ctx)


@router.post("/tokens", response_class=HTMLResponse)
def issue_token(ctx: Page) -> Response:
    user_id = _int(ctx.field("user_id")) or ctx.me.user_id
    days = ctx.field("expires_days")
    try:
        if days and not days.isdigit():
            raise InvalidInput("expires_days must be a whole number of days")
        _, issued = accounts.issue_token(
            ctx.session,
            ctx.me,
            user_id=user_id,
            label=ctx.field("label"),
            expires_days=int(days) if days else None,
        )
        ctx.session.commit()
    except MingaError as exc:
        return _tokens_page(ctx, 422, exc.message)
    # Shown once, in this response only; never put in a URL or a cookie.
    return _tokens_page(ctx, 201, issued=issued.token)


@router.post("/tokens/{public_id}/revoke", response_class=HTMLResponse)
def revoke_token(ctx: Page, public_id: str) -> Response:
    accounts.revoke_token(ctx.session, ctx.me, public_id)
    ctx.session.commit()
    return redirect(ctx, "/admin/tokens?done=revoked")


# -- invitations ---------------------------------------------------------------------------


def _invitations_page(
    ctx: Ctx, status: int = 200, error: str = "", issued: dict[str, str] | None = None
) -> Response:
    me = ctx.me
    orgs = views.organisations(ctx.session)
    # The service lists only what the policy lets this person see (an organisation admin: its own).
    pending = [
        i
        for i in invitations.list_invitations(ctx.session, me)
        if invitations.status(i) == "pending"
    ]
    return _page(
        ctx,
        "admin_invitations.html",
        status,
        invitations=pending,
        orgs=orgs,
        choosable=[o for o in orgs.values() if may(me, Action.INVITE, Target(org_id=o.id))],
        roles=[r.value for r in Role],
        error=error,
        issued=issued or {},
    )


@router.get("/invitations", response_class=HTMLResponse)
def list_invitations(ctx: Page) -> Response:
    return _invitations_page(ctx)


@router.post("/invitations", response_class=HTMLResponse)
def create_invitation(ctx: Page) -> Response:
    hours = ctx.field("hours", "72")
    try:
        org_id = _int(ctx.field("org_id")) or ctx.me.org_id
        if not hours.isdigit():
            raise InvalidInput("hours must be a whole number")
        row, secret = invitations.create_invitation(
            ctx.session,
            ctx.me,
            org_id=org_id,
            role=ctx.field("role"),
            note=ctx.field("note"),
            ttl_hours=int(hours),
        )
        ctx.session.commit()
    except MingaError as exc:
        return _invitations_page(ctx, status_of(exc), exc.message)
    # Shown once, in this response only.
    issued = {"secret": secret, "at": invitations.redeem_at(row.role, secret)}
    return _invitations_page(ctx, 201, issued=issued)


@router.post("/invitations/{invitation_id}/revoke", response_class=HTMLResponse)
def revoke_invitation(ctx: Page, invitation_id: DbId) -> Response:
    try:
        invitations.revoke_invitation(ctx.session, ctx.me, invitation_id)
        ctx.session.commit()
    except MingaError as exc:
        return _invitations_page(ctx, status_of(exc), exc.message)
    return redirect(ctx, "/admin/invitations?done=revoked")


# -- sharing groups ------------------------------------------------------------------------


def _groups_page(
    ctx: Ctx, status: int = 200, error: str = "", v: dict[str, Any] | None = None
) -> Response:
    return _page(
        ctx,
        "admin_groups.html",
        status,
        groups=accounts.list_groups(ctx.session),
        orgs=views.organisations(ctx.session),
        my_org=ctx.me.org_id,  # only the owner's admins and coordinators change members
        error=error,
        v=v or {"members": set()},
    )


@router.get("/groups", response_class=HTMLResponse)
def groups(ctx: Page) -> Response:
    return _groups_page(ctx)


def _members(ctx: Ctx) -> list[int]:
    return [int(m) for m in ctx.fields("member") if m.isdigit()]


@router.post("/groups", response_class=HTMLResponse)
def create_group(ctx: Page) -> Response:
    v: dict[str, Any] = {
        "name": ctx.field("name"),
        "description": ctx.field("description"),
        "members": set(_members(ctx)),
    }
    try:
        accounts.create_group(
            ctx.session,
            ctx.me,
            name=v["name"],
            description=v["description"],
            owner_org_id=ctx.me.org_id,
            member_org_ids=sorted(v["members"]),
        )
        ctx.session.commit()
    except MingaError as exc:
        return _groups_page(ctx, 422, exc.message, v)
    return redirect(ctx, "/admin/groups?done=group")


@router.post("/groups/{group_id}/members", response_class=HTMLResponse)
def set_members(ctx: Page, group_id: int) -> Response:
    try:
        accounts.set_group_members(ctx.session, ctx.me, group_id, _members(ctx))
        ctx.session.commit()
    except MingaError as exc:
        return _groups_page(ctx, 422, exc.message)
    return redirect(ctx, "/admin/groups?done=members")
