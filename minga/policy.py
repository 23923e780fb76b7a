"""The one access policy: who may see which object, which node may receive it, who may do what.

Every read path (REST, TAXII, UI, search, exports, sync) asks this module; nothing else decides
visibility. The pure functions and the SQL filter state the same rule and a property test keeps
them in step.

Rule for a principal P (a user of organisation `P.org_id`) and an object version O:
1. The owning organisation always sees its own objects.
2. reach `organisation` means nobody else.
3. If O names sharing groups, exactly the member organisations of those groups see it.
4. Otherwise every organisation of the node sees it, unless its TLP is AMBER+STRICT or RED: those
   travel only to named recipients (a sharing group), never to the community at large.
No role bypasses this: a node admin manages accounts, not other organisations' intelligence.
An account of a remote organisation (another node's: a peer's machine account) sees through
these paths only what its own organisation holds here; what its node may receive reaches it
through the federation collection alone, as `may_node_receive` decides (so `organisation` and
`community` never leave the node, whoever asks).

Authority (`may(principal, action, target)`) is decided here too, scoped to the organisation the
target belongs to (a sharing group or a TAXII collection belongs to its owner):
- The **node operator** (admins of the operator organisation, recorded by `minga init`) creates
  organisations and invites their first administrator; it manages node-owned collections.
- An **organisation administrator** manages the users, machine accounts, tokens and invitations of
  its own organisation only; admins and coordinators manage the sharing groups and TAXII
  collections their organisation owns, and read its audit log.
- Nobody obtains another person's credential: a token is issued to the user who holds it, or by an
  organisation admin to a machine account of its own organisation. Nobody disables themselves.
- A member organisation may leave a group it does not own; sharing into a group needs membership.
- An account of a remote organisation (another node's; in practice a peer's machine account)
  publishes nothing through the ordinary paths: versions from other nodes arrive only signed,
  through federation, never as if they had been made on this node.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, exists, false, literal_column, or_, select, true

if TYPE_CHECKING:
    from sqlalchemy import Table


class Tlp(StrEnum):
    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"


TLP_RANK = {Tlp.CLEAR: 0, Tlp.GREEN: 1, Tlp.AMBER: 2, Tlp.AMBER_STRICT: 3, Tlp.RED: 4}
# Levels that only ever go to named recipients (sharing groups), never to a whole community.
NAMED_ONLY = frozenset({Tlp.AMBER_STRICT, Tlp.RED})


class Reach(StrEnum):
    """How far the platform carries an object."""

    ORGANISATION = "organisation"
    COMMUNITY = "community"
    CONNECTED = "connected"
    FEDERATION = "federation"


REACH_RANK = {Reach.ORGANISATION: 0, Reach.COMMUNITY: 1, Reach.CONNECTED: 2, Reach.FEDERATION: 3}


class Role(StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    ANALYST = "analyst"
    READER = "reader"
    MACHINE = "machine"


class Action(StrEnum):
    READ = "read"
    PUBLISH = "publish"  # create objects, new versions, revoke own objects
    MANAGE_ORGS = "manage-orgs"  # create organisations (node operator)
    MANAGE_USERS = "manage-users"  # create, enable, list the accounts of an organisation
    DISABLE_USER = "disable-user"
    VIEW_USER = "view-user"  # know that an account exists (its organisation, or the operator)
    ISSUE_TOKEN = "issue-token"
    MANAGE_TOKEN = "manage-token"  # list and revoke a user's tokens
    INVITE = "invite"  # create, list and revoke invitations into an organisation
    MANAGE_GROUPS = "manage-groups"  # create a group, change its members
    LEAVE_GROUP = "leave-group"
    SHARE_WITH_GROUP = "share-with-group"
    MANAGE_COLLECTIONS = "manage-collections"
    READ_AUDIT = "read-audit"
    MANAGE_PEERS = "manage-peers"  # add, list, inspect and remove federation peers
    ASSESS = "assess"  # fill in the organisation's self-assessments and its risk register
    DRAFT_ADVISORY = "draft-advisory"  # write and edit public advisories not yet published
    PUBLISH_ADVISORY = "publish-advisory"  # publish, update, withdraw advisories; campaigns
    WORK_INCIDENT = "work-incident"  # open an incident; tasks, notes, records of one it is named in
    ESCALATE_INCIDENT = "escalate-incident"  # escalate an incident its organisation holds
    # Node-wide correlation settings: values excluded from correlation, imported warninglists.
    MANAGE_CORRELATION = "manage-correlation"


ALLOWED: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.COORDINATOR: frozenset(
        {
            Action.READ,
            Action.PUBLISH,
            Action.VIEW_USER,
            Action.ISSUE_TOKEN,
            Action.MANAGE_TOKEN,
            Action.MANAGE_GROUPS,
            Action.LEAVE_GROUP,
            Action.SHARE_WITH_GROUP,
            Action.MANAGE_COLLECTIONS,
            Action.READ_AUDIT,
            Action.ASSESS,
            Action.DRAFT_ADVISORY,
            Action.PUBLISH_ADVISORY,
            Action.WORK_INCIDENT,
            Action.ESCALATE_INCIDENT,
        }
    ),
    Role.ANALYST: frozenset(
        {
            Action.READ,
            Action.PUBLISH,
            Action.VIEW_USER,
            Action.ISSUE_TOKEN,
            Action.MANAGE_TOKEN,
            Action.SHARE_WITH_GROUP,
            Action.ASSESS,
            Action.DRAFT_ADVISORY,
            Action.WORK_INCIDENT,
            Action.ESCALATE_INCIDENT,
        }
    ),
    Role.READER: frozenset(
        {Action.READ, Action.VIEW_USER, Action.ISSUE_TOKEN, Action.MANAGE_TOKEN}
    ),
    Role.MACHINE: frozenset(
        {
            Action.READ,
            Action.PUBLISH,
            Action.VIEW_USER,
            Action.ISSUE_TOKEN,
            Action.MANAGE_TOKEN,
            Action.SHARE_WITH_GROUP,
        }
    ),
}
# Actions that only the node operator (an admin of the operator organisation) takes.
OPERATOR_ONLY = frozenset({Action.MANAGE_ORGS, Action.MANAGE_PEERS, Action.MANAGE_CORRELATION})
# Actions an account of a remote organisation never takes here (its versions come signed,
# through federation).
LOCAL_ONLY = frozenset(
    {Action.PUBLISH, Action.SHARE_WITH_GROUP, Action.DRAFT_ADVISORY, Action.PUBLISH_ADVISORY}
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a user (or machine account) acting for one organisation."""

    user_id: int
    org_id: int
    role: Role
    identity_ref: str
    group_ids: frozenset[int] = field(default_factory=frozenset)
    user_name: str = ""
    # True when the principal's organisation runs the node (see `is_node_operator`).
    operator_org: bool = False
    # True when the principal's organisation belongs to another node (`remote_node` is set).
    remote: bool = False


def is_node_operator(principal: Principal) -> bool:
    return principal.role is Role.ADMIN and principal.operator_org


@dataclass(frozen=True, slots=True)
class Target:
    """What an action is done to, with the organisation it belongs to.

    `org_id` None means the node itself (node-owned collections, node settings). `user_id` and
    `role` describe an account (a user, or the holder of a token); `member_org_ids` a group.
    """

    org_id: int | None
    user_id: int | None = None
    role: Role | None = None
    member_org_ids: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Marking:
    """The facts of one object version that decide who sees it."""

    owner_org_id: int
    tlp: Tlp
    reach: Reach
    group_ids: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Peer:
    """A federated node asking to receive objects."""

    node_name: str
    group_ids: frozenset[int] = frozenset()


def may(principal: Principal, action: Action, target: Target | None = None) -> bool:
    """May `principal` take `action` on `target`? Without a target: may its role ever take it."""
    if action not in ALLOWED[principal.role]:
        return False
    if principal.remote and action in LOCAL_ONLY:
        return False
    if action in OPERATOR_ONLY:
        return is_node_operator(principal)
    if target is None:
        return True
    return _may_on(principal, action, target)


def _may_on(p: Principal, action: Action, t: Target) -> bool:
    own_org = t.org_id is not None and t.org_id == p.org_id
    match action:
        case Action.READ | Action.PUBLISH | Action.MANAGE_USERS | Action.READ_AUDIT:
            return own_org
        case Action.ASSESS | Action.DRAFT_ADVISORY | Action.PUBLISH_ADVISORY:
            # An advisory speaks for the organisation that wrote it: its analysts draft, its
            # coordinators and admins review, publish, update and withdraw.
            return own_org
        case Action.VIEW_USER:
            return own_org or is_node_operator(p)
        case Action.DISABLE_USER:
            return own_org and t.user_id != p.user_id
        case Action.ISSUE_TOKEN:
            # Only to oneself, or an organisation admin to a machine account of its own.
            if t.user_id == p.user_id:
                return True
            return own_org and p.role is Role.ADMIN and t.role is Role.MACHINE
        case Action.MANAGE_TOKEN:
            return t.user_id == p.user_id or (own_org and p.role is Role.ADMIN)
        case Action.INVITE:
            # The operator onboards another organisation's first administrator.
            return own_org or (is_node_operator(p) and t.role in (Role.ADMIN, None))
        case Action.MANAGE_GROUPS:
            return own_org
        case Action.LEAVE_GROUP:
            return not own_org and p.org_id in t.member_org_ids
        case Action.SHARE_WITH_GROUP:
            return p.org_id in t.member_org_ids
        case Action.MANAGE_COLLECTIONS:
            return own_org or (t.org_id is None and p.operator_org)
        case Action.WORK_INCIDENT:
            # The holder and the organisations an incident names (reporter, affected, assigned);
            # a remote account works incidents only through signed federation documents.
            return not p.remote and (own_org or p.org_id in t.member_org_ids)
        case Action.ESCALATE_INCIDENT:
            return not p.remote and own_org
    return False


def may_see(principal: Principal, marking: Marking) -> bool:
    if marking.owner_org_id == principal.org_id:
        return True
    if principal.remote or marking.reach is Reach.ORGANISATION:
        return False
    if marking.group_ids:
        return not marking.group_ids.isdisjoint(principal.group_ids)
    return marking.tlp not in NAMED_ONLY


def may_node_receive(
    peer: Peer, marking: Marking, *, origin_node: str | None, hop_count: int
) -> bool:
    """May this object travel to `peer`? Never back to its origin, never past its reach."""
    if origin_node is not None and origin_node == peer.node_name:
        return False
    if marking.reach in (Reach.ORGANISATION, Reach.COMMUNITY):
        return False
    if marking.reach is Reach.CONNECTED and hop_count > 0:
        return False
    if marking.group_ids:
        return not marking.group_ids.isdisjoint(peer.group_ids)
    return marking.tlp not in NAMED_ONLY


def may_change_tlp(old: Tlp, new: Tlp, *, is_owner: bool) -> bool:
    """TLP may only be lowered by the owner (and never by sync, which is never the owner)."""
    return is_owner or TLP_RANK[new] >= TLP_RANK[old]


def may_version(principal: Principal, marking: Marking) -> bool:
    """May `principal` publish a new version of (edit, revoke, re-mark, expire) an object?
    Only its owning organisation, with a role that publishes."""
    return may(principal, Action.PUBLISH, Target(org_id=marking.owner_org_id))


def visible_filter(principal: Principal, objects: Table | Any, object_groups: Table | Any) -> Any:
    """SQL WHERE clause equal to `may_see` for rows of `objects` (an intel objects table).

    Made once per principal and table and kept (SQL expressions are immutable and may appear
    in any number of statements): building it was an eighth of a TAXII get-by-id's CPU."""
    return _visible_filter(principal, objects, object_groups)


@functools.lru_cache(maxsize=2048)
def _visible_filter(principal: Principal, objects: Table | Any, object_groups: Table | Any) -> Any:
    if principal.remote:
        return objects.c.owner_org_id == principal.org_id
    in_my_groups: ColumnElement[bool]
    if principal.group_ids:
        in_my_groups = exists(
            select(object_groups.c.object_pk).where(
                object_groups.c.object_pk == objects.c.pk,
                object_groups.c.group_id.in_(sorted(principal.group_ids)),
            )
        )
    else:
        in_my_groups = false()
    shared = and_(
        objects.c.reach != Reach.ORGANISATION.value,
        or_(
            and_(objects.c.has_groups == true(), in_my_groups),
            and_(
                objects.c.has_groups == false(),
                # Plain comparisons, not NOT IN (...): an expanding list is rewritten into the
                # SQL on every execution (a tenth of a get-by-id's CPU, issue 11).
                *(objects.c.tlp != t.value for t in sorted(NAMED_ONLY)),
            ),
        ),
    )
    return or_(objects.c.owner_org_id == principal.org_id, shared)


def audit_filter(
    principal: Principal, entries: Table | Any, objects: Table | Any, object_groups: Table | Any
) -> Any:
    """SQL WHERE clause over `audit_log`: the entries `principal` may read.

    Its organisation's own entries (done by it, or to it); an object event of another
    organisation only while the object's newest version is visible to the principal; node-local
    entries (the command line) for the node operator.
    """
    object_event = entries.c.target_type == "stix"
    visible_object = exists(
        select(objects.c.pk).where(
            objects.c.stix_id == entries.c.target_id,
            # The bare flag, as `minga.intel.models.latest_flag` writes it: the id index serves.
            literal_column(f"{objects.name}.is_latest"),
            visible_filter(principal, objects, object_groups),
        )
    )
    ours = or_(entries.c.org_id == principal.org_id, entries.c.subject_org_id == principal.org_id)
    node_local = (
        and_(entries.c.org_id.is_(None), entries.c.subject_org_id.is_(None))
        if is_node_operator(principal)
        else false()
    )
    return or_(
        and_(object_event, or_(entries.c.org_id == principal.org_id, visible_object)),
        and_(~object_event, or_(ours, node_local)),
    )


# -- federation: which versions travel between nodes, and how they arrive ------------------


def may_forward(
    peer: Peer, marking: Marking, *, origin_node: str | None, hop_count: int, held_by_peer: bool
) -> bool:
    """`may_node_receive` plus the loop rule: never to a node known to hold the version
    (it arrived here from that node). Push and serving to peers both ask this."""
    if held_by_peer:
        return False
    return may_node_receive(peer, marking, origin_node=origin_node, hop_count=hop_count)


def arriving_reach(sent: Reach) -> Reach | None:
    """The reach a version travelling with reach `sent` gets on the node it arrives at:
    `connected` went its one hop and stays there (`community`); `federation` travels on.
    None: that reach never leaves its node, so such a version is refused."""
    if sent is Reach.CONNECTED:
        return Reach.COMMUNITY
    if sent is Reach.FEDERATION:
        return Reach.FEDERATION
    return None


# -- assessments: self-assessments, risk register, sector aggregates ---------------------------

# A sector's CSF aggregate is shown only over at least this many consenting organisations, so
# that no single member's answers can be read out of it.
AGGREGATE_MIN_ORGS = 3


def may_read_assessment(principal: Principal, owner_org_id: int, *, completed: bool) -> bool:
    """An organisation reads its own assessments and risk register; the node operator (the hub,
    the national CSIRT running the node) also reads a completed national (CMM) assessment."""
    if principal.remote:
        return False
    return owner_org_id == principal.org_id or (completed and is_node_operator(principal))


def may_see_sector_aggregate(
    principal: Principal, *, own_sector: str, sector: str, consenting_orgs: int
) -> bool:
    """A sector's CSF aggregate, only over `AGGREGATE_MIN_ORGS` or more organisations that
    consented: for the coordinators and admins of the node operator (an ISAC runs its node)
    and of the organisations of that sector."""
    if principal.remote or consenting_orgs < AGGREGATE_MIN_ORGS:
        return False
    if principal.role not in (Role.ADMIN, Role.COORDINATOR):
        return False
    return principal.operator_org or own_sector == sector


# -- public advisories: only TLP:CLEAR goes to people without an account ----------------------


def may_publish_publicly(tlp: Tlp) -> bool:
    """TLP:CLEAR alone may be disclosed without limit (TLP 2.0); anything else stays inside."""
    return tlp is Tlp.CLEAR


def public_refusals(linked: list[tuple[str, Tlp]]) -> list[str]:
    """Why an advisory linking these (object id, TLP) pairs may not be published: one sentence
    per object that is not TLP:CLEAR, naming it; empty when it may."""
    return [
        f"{stix_id} is TLP:{tlp.value.upper()}; only TLP:CLEAR objects may be published"
        for stix_id, tlp in linked
        if not may_publish_publicly(tlp)
    ]


# -- incidents: who sees a case, and each record shared in it ------------------------------


class Pap(StrEnum):
    """Permissible Actions Protocol: what a recipient may do with shared information."""

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


@dataclass(frozen=True, slots=True)
class IncidentMarking:
    """The facts of one incident that decide who sees it.

    `holder_org_id` handles the case; `named_org_ids` are the reporter and the affected and
    assigned organisations. The node's coordinator (its operator organisation) oversees every
    case of the community except those at TLP:RED, which stay with the organisations named."""

    holder_org_id: int
    tlp: Tlp
    named_org_ids: frozenset[int] = frozenset()


def incident_named(principal: Principal, marking: IncidentMarking) -> bool:
    return principal.org_id == marking.holder_org_id or principal.org_id in marking.named_org_ids


def may_see_incident(principal: Principal, marking: IncidentMarking) -> bool:
    if incident_named(principal, marking):
        return True
    if principal.remote:
        return False
    return principal.operator_org and marking.tlp is not Tlp.RED


def may_see_incident_record(
    principal: Principal, marking: IncidentMarking, record_tlp: Tlp
) -> bool:
    """A record (a linked STIX object, an attachment) shared in an incident at `record_tlp`:
    the organisations named see it; the coordinator only below AMBER+STRICT. Whether the STIX
    object itself may be seen is still `may_see`'s answer."""
    if not may_see_incident(principal, marking):
        return False
    return incident_named(principal, marking) or record_tlp not in NAMED_ONLY


def incident_filter(principal: Principal, incidents: Table | Any, named: Table | Any) -> Any:
    """SQL WHERE clause equal to `may_see_incident` for rows of `incidents`; `named` holds
    (incident_id, org_id) rows for the reporter and the affected and assigned organisations."""
    is_named = exists(
        select(named.c.incident_id).where(
            named.c.incident_id == incidents.c.id, named.c.org_id == principal.org_id
        )
    )
    mine = or_(incidents.c.org_id == principal.org_id, is_named)
    if principal.remote or not principal.operator_org:
        return mine
    return or_(mine, incidents.c.tlp != Tlp.RED.value)


# -- sightings: who counts them, who learns who made them ----------------------------------
# A sighting is an object of its own (TLP, reach, groups). An anonymous one is stored where only
# its organisation sees it (reach `organisation`), yet counted for everyone who may see what it
# sighted: counted, not attributed.


def counts_for_everyone(marking: Marking, *, anonymous: bool) -> bool:
    """Does a sighting count in the node-wide figures (the stored score, list counts) that
    anyone who sees the indicator is shown? Anonymous ones do (a count names nobody); an
    attributed one only if every member may see it, so those figures reveal nothing hidden."""
    if anonymous:
        return True
    return (
        marking.reach is not Reach.ORGANISATION
        and not marking.group_ids
        and marking.tlp not in NAMED_ONLY
    )


def may_count_sighting(principal: Principal, marking: Marking, *, anonymous: bool) -> bool:
    """Does a sighting count in the figures shown to `principal` (who may see what it sighted)?"""
    return anonymous or may_see(principal, marking)


def may_know_sighter(principal: Principal, marking: Marking, *, anonymous: bool) -> bool:
    """May `principal` learn which organisation made a sighting? An anonymous one: only that
    organisation itself (it owns the sighting); otherwise whoever may see the sighting."""
    if anonymous:
        return marking.owner_org_id == principal.org_id
    return may_see(principal, marking)


def public_sighting_filter(sightings: Table | Any, objects: Table | Any) -> Any:
    """SQL equal to `counts_for_everyone` for `sightings` rows joined to their object row."""
    return or_(
        sightings.c.anonymous == true(),
        and_(
            objects.c.reach != Reach.ORGANISATION.value,
            objects.c.has_groups == false(),
            objects.c.tlp.not_in([t.value for t in NAMED_ONLY]),
        ),
    )


def sighting_count_filter(
    principal: Principal, sightings: Table | Any, objects: Table | Any, object_groups: Table | Any
) -> Any:
    """SQL equal to `may_count_sighting` for `sightings` rows joined to their object row."""
    return or_(sightings.c.anonymous == true(), visible_filter(principal, objects, object_groups))


# -- sensor alerts: what a member's sensor reports, and who reviews it ----------------------
# An alert describes the member's own network (its addresses, hosts and logs): it stays with
# that organisation. Its sensor (a machine account) or its analysts report alerts; its
# analysts, coordinators and admins review them. An account of a remote organisation does
# neither: a node's sensor alerts never travel.
SENSOR_REVIEWERS = frozenset({Role.ADMIN, Role.COORDINATOR, Role.ANALYST})


def may_report_sensor_alert(principal: Principal) -> bool:
    return not principal.remote and (
        principal.role is Role.MACHINE or principal.role in SENSOR_REVIEWERS
    )


def may_see_sensor_alert(principal: Principal, alert_org_id: int) -> bool:
    return not principal.remote and alert_org_id == principal.org_id


def may_review_sensor_alert(principal: Principal, alert_org_id: int) -> bool:
    return may_see_sensor_alert(principal, alert_org_id) and principal.role in SENSOR_REVIEWERS


def sensor_alert_filter(principal: Principal, alerts: Table | Any) -> Any:
    """SQL WHERE clause equal to `may_see_sensor_alert` for rows of `alerts`."""
    if principal.remote:
        return false()
    return alerts.c.org_id == principal.org_id


# -- exercises (minga.exercises): the exercise space never mixes with real intelligence ------
# What an exercise creates carries its ref: STIX objects in `x_minga_exercise` (and an
# `exercise` index column), incidents in their `exercise` column. Real lists, feeds,
# correlation and federation leave it out; the exercise's own pages show it to its teams
# (each its own deliveries) and its staff (the director and evaluators see everything).

EXERCISE_PROPERTY = "x_minga_exercise"
# Set on the objects of an exercise that is itself federated: only those may leave the node.
EXERCISE_FEDERATED = "x_minga_exercise_federated"
EXERCISE_DIRECTOR = "director"
EXERCISE_EVALUATOR = "evaluator"


def exercise_of(obj: dict[str, Any]) -> str | None:
    """The exercise a STIX object belongs to, or None for real intelligence."""
    value = obj.get(EXERCISE_PROPERTY)
    return value if isinstance(value, str) and value else None


def may_travel_as_exercise(obj: dict[str, Any]) -> bool:
    """Exercise content leaves its node only when its exercise is federated."""
    return exercise_of(obj) is None or obj.get(EXERCISE_FEDERATED) is True


def real_only(table: Table | Any) -> Any:
    """SQL: rows of `table` (with an `exercise` column) that are real, not exercise content."""
    return table.c.exercise.is_(None)


@dataclass(frozen=True, slots=True)
class ExerciseMarking:
    """Who takes part in one exercise: team organisations, and staff users with their role."""

    team_org_ids: frozenset[int]
    staff: dict[int, str] = field(default_factory=dict)  # user id -> director | evaluator


def may_create_exercise(principal: Principal) -> bool:
    """Coordinators and admins of a local organisation run exercises and import scenarios."""
    return not principal.remote and principal.role in (Role.ADMIN, Role.COORDINATOR)


def may_see_exercise(principal: Principal, marking: ExerciseMarking) -> bool:
    if principal.remote:
        return False
    return principal.org_id in marking.team_org_ids or principal.user_id in marking.staff


def may_direct_exercise(principal: Principal, marking: ExerciseMarking) -> bool:
    """Start, pause, resume, end; teams and staff; improvement actions."""
    return not principal.remote and marking.staff.get(principal.user_id) == EXERCISE_DIRECTOR


def may_evaluate_exercise(principal: Principal, marking: ExerciseMarking) -> bool:
    return not principal.remote and principal.user_id in marking.staff


def may_play_exercise(principal: Principal, marking: ExerciseMarking) -> bool:
    """Acknowledge, answer, open incidents and publish in the exercise space for its team."""
    return (
        not principal.remote
        and principal.org_id in marking.team_org_ids
        and principal.role in (Role.ADMIN, Role.COORDINATOR, Role.ANALYST)
    )


def may_see_delivery(principal: Principal, marking: ExerciseMarking, team: int | None) -> bool:
    """A team sees what was delivered to it; staff see all, and alone the facilitator's
    scripts (delivered to no team)."""
    if not may_see_exercise(principal, marking):
        return False
    return principal.user_id in marking.staff or (team is not None and team == principal.org_id)


def may_see_improvement(principal: Principal, marking: ExerciseMarking, org_id: int) -> bool:
    """An improvement action: the organisation it is assigned to, and the exercise staff."""
    if principal.remote:
        return False
    return principal.org_id == org_id or principal.user_id in marking.staff


def may_update_improvement(principal: Principal, marking: ExerciseMarking, org_id: int) -> bool:
    """Its organisation's coordinators and admins track it to closure; the director too."""
    if may_direct_exercise(principal, marking):
        return True
    return (
        not principal.remote
        and principal.org_id == org_id
        and principal.role in (Role.ADMIN, Role.COORDINATOR)
    )


# -- notify: webhooks, constituencies, delivery logs, notifications ------------------------
# A webhook receives only what its owner may see (`may_see` at delivery time, with the owner
# below as the principal); a notification names evidence only to those who may see it.


def org_reader(org_id: int, group_ids: frozenset[int], *, remote: bool = False) -> Principal:
    """An organisation as a reader (what any of its members may see): the principal of an
    organisation's webhook and of a constituency match."""
    return Principal(
        user_id=0, org_id=org_id, role=Role.READER, identity_ref="", group_ids=group_ids,
        remote=remote,
    )  # fmt: skip


def may_manage_webhook(principal: Principal, org_id: int, user_id: int | None) -> bool:
    """A user's own webhook: that user; an organisation's webhook: its admins. Reading and
    replaying the delivery log follow the same rule."""
    if principal.remote:
        return False
    if user_id is not None:
        return user_id == principal.user_id and principal.org_id == org_id
    return principal.role is Role.ADMIN and principal.org_id == org_id


def may_manage_constituency(principal: Principal, org_id: int) -> bool:
    """What an organisation answers for is declared by its admins, or by the node operator
    (the national CSIRT) for any member."""
    if principal.remote:
        return False
    return (principal.role is Role.ADMIN and principal.org_id == org_id) or is_node_operator(
        principal
    )


def may_import_constituencies(principal: Principal) -> bool:
    """A bulk import names many organisations: the node operator only."""
    return is_node_operator(principal)


def may_receive_notification(reader: Principal, evidence: Marking | None) -> bool:
    """A notification goes out only with evidence its recipient may see; without it, nothing
    is said (a hidden thing and an unknown thing get the same answer)."""
    return evidence is None or may_see(reader, evidence)


# --- events (per-user streams) -------------------------------------------------------------
# Who a stream message that is not about an object is for; objects use `may_see`, incident
# updates `may_see_incident`.


def may_hear_job(principal: Principal, owner_user_id: int | None) -> bool:
    """An ingest job's outcome is told to the person who queued it."""
    return owner_user_id is not None and owner_user_id == principal.user_id


def is_notified(
    principal: Principal, recipient_org_id: int | None, recipient_user_id: int | None
) -> bool:
    """A notification names one person, or (no person named) every user of an organisation."""
    if recipient_user_id is not None:
        return recipient_user_id == principal.user_id
    return recipient_org_id is not None and recipient_org_id == principal.org_id
