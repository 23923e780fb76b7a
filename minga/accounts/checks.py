"""Asking the policy about an account action, with one clear sentence when it says no."""

from __future__ import annotations

from minga.accounts.models import Organisation, User
from minga.errors import Forbidden
from minga.policy import Action, Principal, Role, Target, may


def require(principal: Principal, action: Action, target: Target | None = None) -> None:
    if not may(principal, action):
        raise Forbidden(
            f"the role {principal.role.value!r} may not {action.value.replace('-', ' ')}"
        )
    if target is not None and not may(principal, action, target):
        raise Forbidden(_REFUSALS.get(action, "you may not do this to another organisation"))


_REFUSALS = {
    Action.MANAGE_USERS: "you manage the accounts of your own organisation only",
    Action.DISABLE_USER: "you may not disable your own account or another organisation's",
    Action.ISSUE_TOKEN: "a token is issued only to its holder, or by an organisation admin "
    "to a machine account of its own organisation",
    Action.MANAGE_GROUPS: "only the owning organisation's admins and coordinators change "
    "a sharing group",
    Action.LEAVE_GROUP: "only a member organisation that does not own the group may leave it",
    Action.SHARE_WITH_GROUP: "you can only share with sharing groups your organisation belongs to",
    Action.MANAGE_COLLECTIONS: "only the owning organisation's admins and coordinators "
    "change a TAXII collection",
    Action.INVITE: "you invite people into your own organisation only (the node operator "
    "invites another organisation's first administrator)",
}


def user_target(user: User) -> Target:
    return Target(org_id=user.org_id, user_id=user.id, role=Role(user.role))


def refuse_remote(org: Organisation, what: str) -> None:
    """Organisations of other nodes are read-only here: their people live on their own node."""
    if org.remote_node is not None:
        raise Forbidden(
            f"{org.name!r} is a remote organisation (node {org.remote_node}): {what} on its"
            " own node; only `minga peer add` makes the peer's machine account here"
        )
