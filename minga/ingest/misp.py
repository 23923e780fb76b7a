"""MISP events and feeds -> STIX 2.1, through the misp-stix library.

Accepted shapes: `{"Event": {...}}`, the REST search answer `{"response": [{"Event": ...}]}`, a
list of those, or a bare event. A MISP feed is a `manifest.json` (event uuid -> summary) next to
one `<uuid>.json` per event; each event is its own batch.

Markings: an event's `tlp:*` tag becomes the TLP of every object that carries no marking of its
own (tlp:white is TLP:CLEAR; no tag means the importer's default, AMBER). The event's
distribution can only narrow the reach asked for: 0 (your organisation only) and 4 (a MISP
sharing group, which has no meaning here) -> organisation, 1 -> community, 2 -> connected,
3 -> federation, 5 (inherit) -> as asked.
"""

from __future__ import annotations

import copy
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from minga.errors import InvalidInput
from minga.intel.stix import TLP_MARKINGS
from minga.policy import REACH_RANK, TLP_RANK, Reach, Tlp

TLP_TAGS = {
    "tlp:white": Tlp.CLEAR,
    "tlp:clear": Tlp.CLEAR,
    "tlp:green": Tlp.GREEN,
    "tlp:amber": Tlp.AMBER,
    "tlp:amber+strict": Tlp.AMBER_STRICT,
    "tlp:red": Tlp.RED,
}
DISTRIBUTION_REACH = {
    "0": Reach.ORGANISATION,
    "1": Reach.COMMUNITY,
    "2": Reach.CONNECTED,
    "3": Reach.FEDERATION,
    "4": Reach.ORGANISATION,
}
# Galaxy clusters exported without a uuid get a stable one from their type and value.
CLUSTER_NS = uuid.UUID("3f1c7c43-5a3e-4d8e-9a59-6f0c2e1d4b77")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def _list(value: Any) -> list[Any]:
    """A MISP list field; anything else (a string, a number, a dict) holds no items."""
    return value if isinstance(value, list) else []


def events_of(payload: Any) -> list[dict[str, Any]]:
    """The event dictionaries of a MISP JSON export."""
    if isinstance(payload, list):
        return [e for item in payload for e in events_of(item)]
    if not isinstance(payload, dict):
        raise InvalidInput("a MISP file must hold an event object, a list of events or a response")
    if isinstance(payload.get("response"), list):
        return events_of(payload["response"])
    event = payload.get("Event", payload)
    if not isinstance(event, dict) or not event.get("info"):
        raise InvalidInput("this JSON is not a MISP event: an event needs an 'info' field")
    return [event]


def is_misp(payload: Any) -> bool:
    """Does decoded JSON look like a MISP export (rather than STIX)?"""
    if isinstance(payload, list) and payload:
        payload = payload[0]
    return isinstance(payload, dict) and (
        "Event" in payload or "response" in payload or ("info" in payload and "uuid" in payload)
    )


def event_tlp(event: dict[str, Any]) -> Tlp | None:
    found = {
        TLP_TAGS[name]
        for tag in _list(event.get("Tag"))
        if isinstance(tag, dict) and (name := str(tag.get("name", "")).strip().lower()) in TLP_TAGS
    }
    if not found:
        return None
    return max(found, key=TLP_RANK.__getitem__)  # several tags: the most restrictive wins


def event_reach(event: dict[str, Any], asked: Reach) -> Reach:
    limit = DISTRIBUTION_REACH.get(str(event.get("distribution", "5")))
    if limit is None or REACH_RANK[limit] >= REACH_RANK[asked]:
        return asked
    return limit


def _repair(event: dict[str, Any]) -> dict[str, Any]:
    """A copy misp-stix can convert: tag case folded, cluster uuids filled in."""
    event = copy.deepcopy(event)
    tagged = [event, *(a for a in _list(event.get("Attribute")) if isinstance(a, dict))]
    for holder in tagged:
        for tag in _list(holder.get("Tag")):
            name = str(tag.get("name", "")) if isinstance(tag, dict) else ""
            if name.lower().startswith("tlp:"):
                tag["name"] = name.lower()
    for galaxy in _list(event.get("Galaxy")):
        for cluster in _list(galaxy.get("GalaxyCluster")) if isinstance(galaxy, dict) else ():
            if isinstance(cluster, dict) and not UUID_RE.match(str(cluster.get("uuid", ""))):
                key = f"{cluster.get('type', galaxy.get('type'))}:{cluster.get('value')}"
                cluster["uuid"] = str(uuid.uuid5(CLUSTER_NS, key))
    return event


@dataclass(frozen=True, slots=True)
class Converted:
    objects: list[dict[str, Any]]  # STIX 2.1, TLP marking definitions left out (standard)
    skipped: list[str]  # what misp-stix left out or complained of, in its words (shortened)


# misp-stix appends the whole list of MISP attribute types to an unknown-type message.
_TYPE_LIST = re.compile(r",\s*type has to be in .*", re.S)
_NOT_A_PROBLEM = frozenset({"Missing Orgc field."})  # hand-made events name no creator org


def _problems(*found: Any) -> list[str]:
    out: list[str] = []
    for by_event in found:
        for messages in (by_event or {}).values():
            for message in messages:
                text = " ".join(_TYPE_LIST.sub("", str(message)).split())
                if text and text not in _NOT_A_PROBLEM:
                    out.append(text[:300])
    return out


def convert_event(event: dict[str, Any]) -> Converted:
    """STIX 2.1 objects of one MISP event, and the attributes misp-stix could not convert."""
    from misp_stix_converter import MISPtoSTIX21Parser

    parser = MISPtoSTIX21Parser()
    name = str(event.get("info", ""))[:80]
    logging.getLogger("pymisp").setLevel(logging.CRITICAL)  # it logs every event it cannot load
    try:
        parser.parse_misp_event(_repair(event))
        converted = [orjson.loads(obj.serialize()) for obj in parser.stix_objects]
    except Exception as exc:  # misp-stix raises anything from KeyError to stix2 errors
        raise InvalidInput(f"misp-stix could not convert the MISP event {name!r}: {exc}") from None
    if not converted:
        raise InvalidInput(f"the MISP event {name!r} could not be loaded (is it a MISP event?)")
    objects = [o for o in converted if o.get("id") not in TLP_MARKINGS]
    return Converted(objects, _problems(parser.errors, parser.warnings))


def feed_event_ids(manifest: Any) -> list[str]:
    """Event uuids a feed manifest lists, in manifest order."""
    if not isinstance(manifest, dict) or not manifest:
        raise InvalidInput("manifest.json must map event uuids to event summaries")
    bad = [key for key in manifest if not UUID_RE.match(str(key))]
    if bad:
        raise InvalidInput(f"manifest.json has keys that are not event uuids: {bad[:5]}")
    return list(manifest)
