"""The generated world of the authority property test: its facts, built on a real database.

Route drivers (`authority_rest`, `authority_routes`) send one request each and return what came
back with what the policy, asked on these facts, expects: `allowed`, and `hidden` (the actor may
not know the target exists, so the answer must equal the one for an unknown id).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from minga.accounts import invitations
from minga.accounts import service as accounts
from minga.accounts.models import ApiToken, GroupMember, Invitation, Organisation, User
from minga.accounts.node import set_operator_org
from minga.audit import AuditEntry
from minga.ingest.models import jobs
from minga.intel import service as intel
from minga.intel.models import objects
from minga.policy import Marking, Principal, Reach, Role, Target, Tlp
from minga.taxii import service as taxii
from minga.taxii.models import Collection

ROLES = [Role.ADMIN, Role.COORDINATOR, Role.ANALYST, Role.READER, Role.MACHINE]


@dataclass(frozen=True)
class Call:
    actor: int
    route: str
    target: int
    role: Role
    near: bool  # pick the target among the actor's own organisation's things


@dataclass
class Person:
    id: int
    org: int  # index into Model.orgs
    org_id: int
    role: Role
    token: str
    active: bool = True
    revoked: bool = False
    web: TestClient | None = None
    csrf: str = ""

    @property
    def public_id(self) -> str:
        return self.token.split("_")[1]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def usable(self) -> bool:
        return self.active and not self.revoked


@dataclass
class Group:
    id: int
    owner: int  # org index
    members: set[int]


@dataclass
class Obj:
    id: str
    owner: int
    tlp: Tlp
    reach: Reach
    groups: frozenset[int]  # group indexes
    gone: bool = False
    revoked: bool = False


@dataclass
class Model:
    tag: str
    orgs: list[int]  # org ids; index 0 runs the node
    users: list[Person]
    groups: list[Group]
    collections: list[tuple[str, int | None]]  # (id, owner org index or None: the node)
    invites: list[tuple[int, int, Role]]  # (id, org index, role)
    objs: list[Obj]
    deleted_collections: set[str] = field(default_factory=set)
    counter: int = 0

    def principal(self, p: Person) -> Principal:
        groups = frozenset(g.id for g in self.groups if p.org in g.members)
        return Principal(
            user_id=p.id,
            org_id=p.org_id,
            role=p.role,
            identity_ref="",
            group_ids=groups,
            operator_org=p.org == 0,
        )

    def account(self, p: Person) -> Target:
        return Target(org_id=p.org_id, user_id=p.id, role=p.role)

    def group_target(self, g: Group) -> Target:
        return Target(
            org_id=self.orgs[g.owner], member_org_ids=frozenset(self.orgs[m] for m in g.members)
        )

    def marking(self, o: Obj) -> Marking:
        return Marking(
            self.orgs[o.owner], o.tlp, o.reach, frozenset(self.groups[g].id for g in o.groups)
        )

    def fresh(self, kind: str) -> str:
        self.counter += 1
        return f"{kind}-{self.tag}-{self.counter}"


@dataclass
class Outcome:
    status: int
    message: str
    allowed: bool
    hidden: bool = False
    noop: bool = False  # answered 2xx, must have stored nothing


def build(sessions: sessionmaker[Session], plan: dict[str, Any], tag: str) -> Model:
    n = plan["n_orgs"]
    with sessions() as s:
        orgs = [
            accounts.create_organisation(
                s, None, name=f"Org {tag} {i}", country="CR", sector="government", kind="csirt"
            ).id
            for i in range(n)
        ]
        set_operator_org(s, orgs[0])
        users = []
        for i, org_id in enumerate(orgs):
            for role in ROLES:
                user = accounts.create_user(
                    s, None, org_id=org_id, name=f"u-{tag}-{i}-{role.value}", role=role.value
                )
                _, issued = accounts.issue_token(s, None, user_id=user.id)
                users.append(Person(user.id, i, org_id, role, issued.token))
        groups = []
        for gi, (owner, members) in enumerate(plan["groups"]):
            view = accounts.create_group(
                s,
                None,
                name=f"group {tag} {gi}",
                owner_org_id=orgs[owner],
                member_org_ids=[orgs[m] for m in members],
            )
            groups.append(Group(view.id, owner, {owner, *members}))
        collections: list[tuple[str, int | None]] = []
        for owner in [None, *range(n)]:
            found = taxii.create_collection(s, None, title=f"c {tag} {owner}", can_write=True)
            found.owner_org_id = orgs[owner] if owner is not None else None
            collections.append((found.id, owner))
        invites = []
        for i, org_id in enumerate(orgs):
            for role in (Role.ADMIN, Role.ANALYST):
                row, _ = invitations.create_invitation(s, None, org_id=org_id, role=role.value)
                invites.append((row.id, i, role))
        s.commit()
        model = Model(tag, orgs, users, groups, collections, invites, [])
        for n_obj, (owner, tlp, reach) in enumerate(plan["objects"]):
            # Only groups the owner owns: it can never leave those, so it may always revoke.
            own_groups = frozenset(gi for gi, g in enumerate(groups) if g.owner == owner)
            publisher = next(u for u in users if u.org == owner and u.role is Role.ANALYST)
            oid = f"malware--{uuid_for(tag, n_obj)}"
            intel.create_objects(
                s,
                accounts.principal_for(s, accounts.get_user(s, publisher.id)),
                [malware_obj(oid, f"probe {tag}")],
                tlp=tlp,
                reach=reach,
                group_ids=sorted(groups[g].id for g in own_groups),
            )
            model.objs.append(Obj(oid, owner, tlp, reach, own_groups))
        s.commit()
    return model


def uuid_for(tag: str, n: int) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tag}/{n}"))


def malware_obj(oid: str, name: str) -> dict[str, Any]:
    return {
        "type": "malware",
        "spec_version": "2.1",
        "id": oid,
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "name": name,
        "is_family": True,
    }


def snapshot(s: Session) -> tuple[Any, ...]:
    """Everything an action could change, in a comparable form."""
    return (
        s.scalar(select(func.count()).select_from(AuditEntry)),
        s.scalar(select(func.count()).select_from(Organisation)),
        tuple(s.execute(select(User.id, User.active).order_by(User.id)).all()),
        tuple(
            s.execute(
                select(ApiToken.public_id, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)
            ).all()
        ),
        tuple(
            s.execute(
                select(GroupMember.group_id, GroupMember.org_id).order_by(
                    GroupMember.group_id, GroupMember.org_id
                )
            ).all()
        ),
        tuple(
            s.execute(
                select(Invitation.id, Invitation.revoked_at.is_(None)).order_by(Invitation.id)
            ).all()
        ),
        tuple(s.scalars(select(Collection.id).order_by(Collection.id))),
        s.scalar(select(func.count()).select_from(objects)),
        s.scalar(select(func.count()).select_from(jobs)),
    )


def answer(r: Any, allowed: bool, hidden: bool = False) -> Outcome:
    try:
        message = r.json().get("message", "") if r.status_code >= 400 else ""
    except ValueError:
        message = r.text if r.status_code >= 400 else ""
    return Outcome(r.status_code, message, allowed, hidden)


def pick(items: list[Any], c: Call, near: Callable[[Any], bool] | None = None) -> Any:
    if c.near and near is not None:
        items = [i for i in items if near(i)] or items
    return items[c.target % len(items)]


def user_of(m: Model, a: Person, c: Call) -> Person:
    found: Person = pick(m.users, c, lambda u: u.org == a.org)
    return found


def group_of(m: Model, a: Person, c: Call) -> Group:
    found: Group = pick(m.groups, c, lambda g: g.owner == a.org)
    return found


Route = Callable[[TestClient, Model, Person, Call], Outcome]
