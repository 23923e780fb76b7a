"""REST endpoints for organisations, users, tokens, sharing groups, the audit log and `me`."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from minga import audit
from minga.accounts import invitations, service
from minga.accounts.places import SECTORS
from minga.api.deps import (
    DB_ID_MAX,
    CurrentPrincipal,
    DbId,
    SessionDep,
    StrictDbId,
    UtcDatetime,
)
from minga.policy import Action

router = APIRouter(prefix="/api", tags=["accounts"])


class OrganisationIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    sector: str = Field(
        min_length=1,
        max_length=64,
        description="a critical-infrastructure sector: " + ", ".join(SECTORS),
    )
    kind: str = Field(description="government, csirt, private, academia or civil-society")
    description: str = Field(default="", max_length=4000)


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    country: str
    sector: str
    kind: str
    identity_ref: str
    description: str
    remote_node: str | None = Field(
        default=None, description="set for a read-only organisation of another node"
    )
    member: bool = Field(
        default=True,
        description="false for an organisation that runs the node without being a member",
    )


class UserIn(BaseModel):
    org_id: StrictDbId
    name: str = Field(min_length=2, max_length=120)
    role: str


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    org_id: int
    name: str
    role: str
    active: bool


class TokenIn(BaseModel):
    user_id: StrictDbId | None = Field(default=None, description="defaults to yourself")
    label: str = Field(default="", max_length=120)
    expires_days: StrictInt | None = Field(default=None, ge=1, le=3650)


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    public_id: str
    user_id: int
    label: str
    created_at: UtcDatetime
    expires_at: UtcDatetime | None
    revoked_at: UtcDatetime | None


class IssuedTokenOut(TokenOut):
    token: str = Field(description="shown once; store it now")


class GroupIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    member_org_ids: list[StrictDbId] = Field(default_factory=list)


class MembersIn(BaseModel):
    member_org_ids: list[StrictDbId]


class GroupOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    owner_org_id: int
    member_org_ids: list[int]


@router.get("/me")
def me(principal: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    org = service.get_organisation(session, principal.org_id)
    return {
        "user": {
            "id": principal.user_id,
            "name": principal.user_name,
            "role": principal.role.value,
        },
        "organisation": OrganisationOut.model_validate(org).model_dump(),
        "groups": sorted(principal.group_ids),
    }


@router.get("/organisations", response_model=list[OrganisationOut])
def list_organisations(session: SessionDep, _: CurrentPrincipal) -> list[OrganisationOut]:
    return [OrganisationOut.model_validate(o) for o in service.list_organisations(session)]


@router.post("/organisations", response_model=OrganisationOut, status_code=201)
def create_organisation(
    body: OrganisationIn, session: SessionDep, principal: CurrentPrincipal
) -> OrganisationOut:
    org = service.create_organisation(session, principal, **body.model_dump())
    session.commit()
    return OrganisationOut.model_validate(org)


@router.get("/organisations/{org_id}", response_model=OrganisationOut)
def get_organisation(org_id: DbId, session: SessionDep, _: CurrentPrincipal) -> OrganisationOut:
    return OrganisationOut.model_validate(service.get_organisation(session, org_id))


@router.get("/users", response_model=list[UserOut])
def list_users(
    session: SessionDep, principal: CurrentPrincipal, org_id: DbId | None = None
) -> list[UserOut]:
    users = service.list_users(session, org_id, principal)
    return [UserOut.model_validate(u) for u in users]


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserIn, session: SessionDep, principal: CurrentPrincipal) -> UserOut:
    user = service.create_user(session, principal, **body.model_dump())
    session.commit()
    return UserOut.model_validate(user)


@router.post("/users/{user_id}/disable", response_model=UserOut)
def disable_user(user_id: DbId, session: SessionDep, principal: CurrentPrincipal) -> UserOut:
    user = service.set_user_active(session, principal, user_id, False)
    session.commit()
    return UserOut.model_validate(user)


@router.post("/users/{user_id}/enable", response_model=UserOut)
def enable_user(user_id: DbId, session: SessionDep, principal: CurrentPrincipal) -> UserOut:
    user = service.set_user_active(session, principal, user_id, True)
    session.commit()
    return UserOut.model_validate(user)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(
    session: SessionDep, principal: CurrentPrincipal, user_id: DbId | None = None
) -> list[TokenOut]:
    return [TokenOut.model_validate(t) for t in service.list_tokens(session, principal, user_id)]


@router.post("/tokens", response_model=IssuedTokenOut, status_code=201)
def issue_token(body: TokenIn, session: SessionDep, principal: CurrentPrincipal) -> IssuedTokenOut:
    row, issued = service.issue_token(
        session,
        principal,
        user_id=body.user_id or principal.user_id,
        label=body.label,
        expires_days=body.expires_days,
    )
    session.commit()
    return IssuedTokenOut(token=issued.token, **TokenOut.model_validate(row).model_dump())


@router.delete("/tokens/{public_id}", response_model=TokenOut)
def revoke_token(public_id: str, session: SessionDep, principal: CurrentPrincipal) -> TokenOut:
    tok = service.revoke_token(session, principal, public_id)
    session.commit()
    return TokenOut.model_validate(tok)


@router.get("/groups", response_model=list[GroupOut])
def list_groups(session: SessionDep, _: CurrentPrincipal) -> list[GroupOut]:
    return [GroupOut.model_validate(g) for g in service.list_groups(session)]


@router.post("/groups", response_model=GroupOut, status_code=201)
def create_group(body: GroupIn, session: SessionDep, principal: CurrentPrincipal) -> GroupOut:
    group = service.create_group(
        session,
        principal,
        name=body.name,
        description=body.description,
        owner_org_id=principal.org_id,
        member_org_ids=body.member_org_ids,
    )
    session.commit()
    return GroupOut.model_validate(group)


@router.put("/groups/{group_id}/members", response_model=GroupOut)
def set_members(
    group_id: DbId, body: MembersIn, session: SessionDep, principal: CurrentPrincipal
) -> GroupOut:
    group = service.set_group_members(session, principal, group_id, body.member_org_ids)
    session.commit()
    return GroupOut.model_validate(group)


@router.post("/groups/{group_id}/leave", response_model=GroupOut)
def leave_group(group_id: DbId, session: SessionDep, principal: CurrentPrincipal) -> GroupOut:
    """Your organisation leaves a sharing group it belongs to but does not own."""
    group = service.leave_group(session, principal, group_id)
    session.commit()
    return GroupOut.model_validate(group)


class AuditEntryOut(BaseModel):
    id: int
    at: UtcDatetime
    user_id: int | None
    org_id: int | None
    subject_org_id: int | None
    action: str
    target_type: str
    target_id: str
    detail: dict[str, Any]


@router.get("/audit")
def audit_log(
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=DB_ID_MAX)] = 0,
) -> list[AuditEntryOut]:
    service.require(principal, Action.READ_AUDIT)
    return [
        AuditEntryOut(
            id=e.id,
            at=e.at,
            user_id=e.user_id,
            org_id=e.org_id,
            subject_org_id=e.subject_org_id,
            action=e.action,
            target_type=e.target_type,
            target_id=e.target_id,
            detail=orjson.loads(e.detail),
        )
        for e in audit.recent(session, principal, limit=limit, offset=offset)
    ]


# -- invitations ---------------------------------------------------------------------------


class InvitationIn(BaseModel):
    org_id: StrictDbId | None = Field(default=None, description="defaults to your organisation")
    role: str
    note: str = Field(default="", max_length=2000)
    ttl_hours: int = Field(default=72, ge=1, le=invitations.MAX_TTL_HOURS)


class InvitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    org_id: int
    role: str
    note: str
    created_by: int | None
    created_at: UtcDatetime
    expires_at: UtcDatetime
    used_at: UtcDatetime | None
    used_by: int | None
    revoked_at: UtcDatetime | None


class IssuedInvitationOut(InvitationOut):
    secret: str = Field(description="shown once; give it to the invited person")
    redeem_at: str = Field(
        description="where it is redeemed, relative to this node: a person opens "
        "/invite?secret=... (and chooses a password there); a machine account calls "
        "POST /api/invitations/redeem"
    )


class RedeemIn(BaseModel):
    secret: str = Field(min_length=1, max_length=200)
    user_name: str = Field(min_length=2, max_length=120)


@router.get("/invitations", response_model=list[InvitationOut])
def list_invitations(
    session: SessionDep, principal: CurrentPrincipal, org_id: DbId | None = None
) -> list[InvitationOut]:
    found = invitations.list_invitations(session, principal, org_id)
    return [InvitationOut.model_validate(i) for i in found]


@router.post("/invitations", response_model=IssuedInvitationOut, status_code=201)
def create_invitation(
    body: InvitationIn, session: SessionDep, principal: CurrentPrincipal
) -> IssuedInvitationOut:
    row, secret = invitations.create_invitation(
        session,
        principal,
        org_id=body.org_id or principal.org_id,
        role=body.role,
        note=body.note,
        ttl_hours=body.ttl_hours,
    )
    session.commit()
    return IssuedInvitationOut(
        secret=secret,
        redeem_at=invitations.redeem_at(row.role, secret),
        **InvitationOut.model_validate(row).model_dump(),
    )


@router.delete("/invitations/{invitation_id}", response_model=InvitationOut)
def revoke_invitation(
    invitation_id: DbId, session: SessionDep, principal: CurrentPrincipal
) -> InvitationOut:
    found = invitations.revoke_invitation(session, principal, invitation_id)
    session.commit()
    return InvitationOut.model_validate(found)


@router.post("/invitations/redeem", status_code=201)
def redeem_invitation(body: RedeemIn, session: SessionDep) -> dict[str, Any]:
    """No credentials needed: the secret is the credential. A person gets the account only (they
    set a password on the web page); a machine account also gets its first API token."""
    user = invitations.redeem_invitation(session, body.secret, user_name=body.user_name)
    answer: dict[str, Any] = {"user": UserOut.model_validate(user).model_dump()}
    if user.role == "machine":
        holder = service.principal_for(session, user)
        _, issued = service.issue_token(session, holder, user_id=user.id, label="invitation")
        answer["token"] = issued.token
    session.commit()
    return answer
