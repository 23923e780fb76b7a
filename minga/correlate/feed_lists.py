"""Which values of a feed are on a warninglist (left out unless asked).

The correlation domain's matcher (`minga.correlate.warninglists.flags`: the built-in lists
and every imported MISP list type: string, hostname with sub-domains, CIDR, substring, regex)
decides where the node has it; otherwise the extractor's built-in lists and exact entries of
imported lists do.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from minga.correlate.models import warninglist_entries, warninglists
from minga.correlate.normalise import Value
from minga.extract.model import IocType
from minga.extract.warninglists import is_benign

Flagger = Callable[[Session, Sequence[Value]], set[tuple[str, str]]]
# The index's kinds as the extractor names them (`ipv4-net` is a CIDR).
IOC_TYPES = {
    "ipv4": IocType.IPV4,
    "ipv6": IocType.IPV6,
    "ipv4-net": IocType.CIDR,
    "ipv6-net": IocType.CIDR,
    "domain": IocType.DOMAIN,
    "url": IocType.URL,
    "email": IocType.EMAIL,
    "md5": IocType.MD5,
    "sha1": IocType.SHA1,
    "sha256": IocType.SHA256,
    "sha512": IocType.SHA512,
}


def flagger() -> Flagger:
    try:
        module = importlib.import_module("minga.correlate.warninglists")
    except ImportError:
        return built_in_and_exact
    flags: Any = getattr(module, "flags", None)
    if flags is None:
        return built_in_and_exact

    def correlation_lists(session: Session, values: Sequence[Value]) -> set[tuple[str, str]]:
        return set(flags(session, values))

    return correlation_lists


def built_in_and_exact(session: Session, values: Sequence[Value]) -> set[tuple[str, str]]:
    found = {
        (v.kind, v.value)
        for v in values
        if v.kind in IOC_TYPES and is_benign(IOC_TYPES[v.kind], v.value)
    }
    enabled = session.scalar(select(func.count()).where(warninglists.c.enabled))
    if not enabled or not values:
        return found
    by_value: dict[str, list[Value]] = {}
    for v in values:
        by_value.setdefault(v.value, []).append(v)
    stmt = (
        select(warninglist_entries.c.value)
        .join(warninglists, warninglists.c.id == warninglist_entries.c.list_id)
        .where(warninglists.c.enabled, warninglist_entries.c.value.in_(sorted(by_value)))
    )
    for entry in session.scalars(stmt):
        found.update((v.kind, v.value) for v in by_value[entry])
    return found
