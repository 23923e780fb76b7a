"""Who will see an object, in plain words, decided by asking the policy module itself.

The publish forms explain every TLP/reach/sharing-group choice. Rather than restating the rule,
`audience` asks `minga.policy` about a stand-in organisation outside any group, one inside the
chosen groups, and a federated peer at the first and at a later hop.
"""

from __future__ import annotations

from collections.abc import Iterable

from minga.policy import Marking, Peer, Principal, Reach, Role, Tlp, may_node_receive, may_see

AUDIENCES = ("own", "groups", "groups-federated", "community", "connected", "federation")
_OWNER = 0
_SOMEONE = -1


def _outsider(groups: frozenset[int]) -> Principal:
    return Principal(
        user_id=0, org_id=_SOMEONE, role=Role.READER, identity_ref="", group_ids=groups
    )


def audience(tlp: Tlp, reach: Reach, group_ids: Iterable[int] = ()) -> str:
    """One of AUDIENCES: how far an object with this marking travels."""
    groups = frozenset(group_ids)
    marking = Marking(_OWNER, tlp, reach, groups)
    if may_see(_outsider(frozenset()), marking):
        local = "community"
    elif groups and may_see(_outsider(groups), marking):
        local = "groups"
    else:
        return "own"
    peer = Peer("a-peer-node", groups)
    first_hop = may_node_receive(peer, marking, origin_node=None, hop_count=0)
    later_hop = may_node_receive(peer, marking, origin_node=None, hop_count=1)
    if local == "groups":
        return "groups-federated" if first_hop else "groups"
    if later_hop:
        return "federation"
    return "connected" if first_hop else "community"


def audience_table() -> dict[str, str]:
    """Every choice a publish form offers -> its audience, for the form's live explanation."""
    return {
        f"{tlp.value}|{reach.value}|{int(with_groups)}": audience(
            tlp, reach, [1] if with_groups else []
        )
        for tlp in Tlp
        for reach in Reach
        for with_groups in (False, True)
    }
