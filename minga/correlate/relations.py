"""How values relate in the observable index: the shapes of look-up (which relations a value
has, as SQL over `observables` with bound parameters) and the one-pass prefilter of a report's
values. `minga.correlate.lookup` joins these to the objects the caller may see."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, and_, bindparam, cast, or_, select
from sqlalchemy.orm import Session

from minga.correlate import normalise as n
from minga.correlate.models import observables
from minga.correlate.normalise import Value
from minga.intel.models import objects

NETS = ("ipv4-net", "ipv6-net")


def latest_row() -> Any:
    """`is_latest` in a form no index serves: objects are reached from the index rows, by key.
    Without statistics on a new table SQLite may otherwise walk every latest object and look
    its values up (80 ms at 20k objects)."""
    return cast(objects.c.is_latest, Integer) == 1


ADDRESSES = ("ipv4", "ipv6")


def _range(kinds: Sequence[str], lo: str, hi: str) -> Any:
    """Rows of `kinds` whose key lies in [:lo, :hi] (bound parameters named `lo`, `hi`)."""
    c = observables.c
    return and_(c.kind.in_(kinds), c.lo >= bindparam(lo), c.lo <= bindparam(hi))


def _inside() -> Any:
    """Addresses and networks inside [:lo, :hi], that network itself left out (a network
    starting at `lo` but larger contains it instead; CIDR ranges never overlap otherwise)."""
    c = observables.c
    lo: Any = bindparam("lo")
    hi: Any = bindparam("hi")
    return and_(_range([*ADDRESSES, *NETS], "lo", "hi"), c.hi <= hi, or_(c.lo != lo, c.hi != hi))


# The shapes of look-up: which relations a value has, as SQL with bound parameters (so each
# shape is built and compiled once per caller, `_statements`) and the parameters of a value.
SHAPES = ("address", "network", "domain", "url-on-address", "url-on-domain", "plain")


def shape_of(v: Value) -> tuple[str, dict[str, Any]]:
    """The shape of look-up of `v` and its parameters."""
    params: dict[str, Any] = {"value": v.value}
    if v.kind in ADDRESSES or v.kind in NETS:
        params["names"] = n.supernets(v)
        params["ulo"], params["uhi"] = n.URL_HOST + (v.lo or ""), n.URL_HOST + (v.hi or "")
        if v.kind in NETS:
            params["lo"], params["hi"] = v.lo, v.hi
            return "network", params
        return "address", params
    if v.kind == "domain" and v.lo:
        # Subdomains, URLs and mailboxes under the domain: one key range ("com.example." ...).
        params.update(names=n.parent_domains(v.value), lo=v.lo, end=v.lo[:-1] + "/")
        return "domain", params
    if v.kind in ("url", "email") and v.lo:
        if v.lo.startswith(n.URL_HOST):  # a URL or mailbox on an address
            address = n.ip(address_of(v.lo))
            if address is not None:
                params["names"] = [address.value, *n.supernets(address)]
                return "url-on-address", params
            return "plain", params
        name = n.domain_of(v.lo)
        params["names"] = [name, *n.parent_domains(name)]
        return "url-on-domain", params
    return "plain", params


def shape_conditions(shape: str) -> list[tuple[str, Any]]:
    """(relation, SQL condition over `observables`) of every row related to a value of `shape`."""
    c = observables.c
    names: Any = bindparam("names", expanding=True)
    # Equal strings are the same value whatever kind the writer gave it (a file name typed
    # into a look-up is recognised as a domain, `text` is whatever else was typed).
    found: list[tuple[str, Any]] = [("same", c.value == bindparam("value"))]
    urls = _range(("url", "email"), "ulo", "uhi")
    if shape == "address":
        found.append(("contains", and_(c.kind.in_(NETS), c.value.in_(names))))
        found.append(("within", urls))
    elif shape == "network":
        found.append(("contains", and_(c.kind.in_(NETS), c.value.in_(names))))
        found.append(("within", or_(_inside(), urls)))
    elif shape == "domain":
        found.append(("contains", and_(c.kind == "domain", c.value.in_(names))))
        under = and_(
            c.kind.in_(("domain", "url", "email")),
            c.lo >= bindparam("lo"),
            c.lo < bindparam("end"),
            or_(c.kind != "domain", c.value != bindparam("value")),
        )
        found.append(("within", under))
    elif shape == "url-on-address":
        found.append(("contains", and_(c.kind.in_([*ADDRESSES, *NETS]), c.value.in_(names))))
    elif shape == "url-on-domain":
        found.append(("contains", and_(c.kind == "domain", c.value.in_(names))))
    return found


def address_of(key: str) -> str:
    """The address of a `[`+hex host key."""
    digits = key[len(n.URL_HOST) :]
    number = int(digits, 16)
    found = ipaddress.IPv4Address(number) if len(digits) == 8 else ipaddress.IPv6Address(number)
    return str(found)


PROBE_CHUNK = 2000


def _equal_keys(v: Value) -> list[str]:
    """Every indexed value whose presence would relate to `v` by equality."""
    keys = [v.value]
    if v.kind in ADDRESSES or v.kind in NETS:
        keys.extend(n.supernets(v))
    elif v.kind == "domain":
        keys.extend(n.parent_domains(v.value))
    elif v.kind in ("url", "email") and v.lo:
        if v.lo.startswith(n.URL_HOST):
            address = n.ip(address_of(v.lo))
            if address is not None:
                keys.extend([address.value, *n.supernets(address)])
        else:
            name = n.domain_of(v.lo)
            keys.extend([name, *n.parent_domains(name)])
    return keys


def worth_correlating(session: Session, values: Sequence[Value]) -> list[bool]:
    """For each value: may any index row relate to it? (False: certainly nothing.)"""
    keys = sorted({k for v in values for k in _equal_keys(v)})
    present: set[str] = set()
    for i in range(0, len(keys), PROBE_CHUNK):
        present.update(
            session.scalars(
                select(observables.c.value)
                .where(observables.c.value.in_(keys[i : i + PROBE_CHUNK]))
                .distinct()
            )
        )
    out = []
    conn = session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    # Thousands of one-row probes: straight to the driver, which keeps the prepared statement
    # (SQLAlchemy's per-execution work would cost ten times the query). No policy here: this
    # only decides which values are worth a full, policy-filtered correlation.
    probe = (
        f"SELECT 1 FROM {observables.name} WHERE kind IN ('domain', 'url', 'email', 'ipv4', "
        f"'ipv6', 'ipv4-net', 'ipv6-net') AND lo >= {mark} AND lo <= {mark} LIMIT 1"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for v in values:
            if any(k in present for k in _equal_keys(v)):
                out.append(True)
                continue
            found = False
            for lo, hi in _key_ranges(v):
                cursor.execute(probe, (lo, hi))
                if cursor.fetchone() is not None:
                    found = True
                    break
            out.append(found)
    finally:
        cursor.close()
    return out


def _key_ranges(v: Value) -> list[tuple[str, str]]:
    """The `lo` key ranges holding rows inside `v` (a superset: kinds are not told apart)."""
    if v.kind in ADDRESSES or v.kind in NETS:
        ranges = [(n.URL_HOST + (v.lo or ""), n.URL_HOST + (v.hi or ""))]
        if v.kind in NETS and v.lo and v.hi:
            ranges.append((v.lo, v.hi))
        return ranges
    if v.kind == "domain" and v.lo:
        return [(v.lo, v.lo[:-1] + "/")]
    return []
