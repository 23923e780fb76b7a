"""Loads the demo community (`community.json`): organisations, users, groups, objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from minga.accounts import service as accounts
from minga.accounts.models import Organisation, User
from minga.intel import service as intel
from minga.policy import Principal, Reach, Tlp


@dataclass
class DemoResult:
    organisations: int = 0
    users: int = 0
    groups: int = 0
    objects: int = 0
    tokens: list[tuple[str, str, str]] = field(default_factory=list)  # (org, user, token)
    already_loaded: bool = False


def community() -> dict[str, Any]:
    data = resources.files("minga.demo").joinpath("community.json").read_bytes()
    return orjson.loads(data)


def load(session: Session, *, issue_tokens: bool = True) -> DemoResult:
    """Load the demo community once; a second call changes nothing."""
    data = community()
    result = DemoResult()
    first = data["organisations"][0]
    if session.scalar(select(Organisation.id).where(Organisation.name == first["name"])):
        result.already_loaded = True
        return result
    orgs: dict[str, Organisation] = {}
    for o in data["organisations"]:
        orgs[o["key"]] = accounts.create_organisation(
            session,
            None,
            name=o["name"],
            country=o["country"],
            sector=o["sector"],
            kind=o["kind"],
            description=o.get("description", ""),
            identity_ref=o["identity"],
        )
        result.organisations += 1
    users: dict[str, User] = {}
    for u in data["users"]:
        user = accounts.create_user(
            session, None, org_id=orgs[u["org"]].id, name=u["name"], role=u["role"]
        )
        if u["role"] in ("analyst", "coordinator", "admin") and (
            u["org"] not in users or users[u["org"]].role == "admin"
        ):
            users[u["org"]] = user  # publishes the org's objects; analysts preferred
        result.users += 1
    group_ids: dict[str, int] = {}
    for g in data["groups"]:
        members = [orgs[m].id for m in g["members"]]
        view = accounts.create_group(
            session,
            None,
            name=g["name"],
            description=g.get("description", ""),
            owner_org_id=members[0],
            member_org_ids=members,
        )
        group_ids[g["name"]] = view.id
        result.groups += 1
    for item in data["objects"]:
        owner = users[item["owner"]]
        principal: Principal = accounts.principal_for(session, owner)
        intel.create_objects(
            session,
            principal,
            [item["object"]],
            tlp=Tlp(item["tlp"]),
            reach=Reach(item["reach"]),
            group_ids=[group_ids[name] for name in item.get("groups", [])],
            provenance=intel.Provenance(source="minga demo data"),
        )
        result.objects += 1
    if issue_tokens:
        for key, user in users.items():
            _, issued = accounts.issue_token(session, None, user_id=user.id, label="demo")
            result.tokens.append((orgs[key].name, user.name, issued.token))
    return result
