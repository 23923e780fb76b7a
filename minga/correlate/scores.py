"""Indicator scores: computed from the store, kept in `indicator_scores`, read by anyone.

The stored score counts only sightings that count for everyone (`policy.counts_for_everyone`):
anonymous ones and those every member may see. So it can be shown, and filtered on, for any
caller who may see the indicator without revealing a sighting hidden from that caller.
It is recomputed when an indicator gets a new version or a sighting, and by `minga score
refresh` / the node's background loop as it ages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import delete, exists, insert, select
from sqlalchemy.orm import Session

from minga.correlate import decay
from minga.correlate.score_models import indicator_scores, org_confidence, sightings
from minga.intel.copies import chunks
from minga.intel.models import latest_flag, objects
from minga.intel.stix import now_ts, ts_to_us, us_to_ts
from minga.policy import public_sighting_filter

if TYPE_CHECKING:
    from minga.settings import Settings


@dataclass(frozen=True, slots=True)
class Params:
    """The node's scoring settings (`MINGA_SCORE_*`)."""

    default_confidence: int = 50
    threshold: int = 30


_params = Params()


def configure(params: Params) -> None:
    """Set the scoring settings of this process (the app and the CLI do, from `Settings`)."""
    global _params
    _params = params


def configure_from(settings: Settings) -> None:
    """Take the scoring settings (`MINGA_SCORE_*`) of this process's node."""
    configure(Params(settings.score_default_confidence, settings.score_threshold))


def params() -> Params:
    return _params


@dataclass(frozen=True, slots=True)
class Score:
    stix_id: str
    score: int
    base: float
    confidence: int
    model: str
    sightings: int
    false_positives: int
    organisations: int
    last_seen_us: int | None
    valid_until_us: int
    computed_us: int

    def expired(self, now_us: int | None = None) -> bool:
        return self.valid_until_us <= (now_us if now_us is not None else ts_to_us(now_ts()))

    def as_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "base": round(self.base, 2),
            "confidence": self.confidence,
            "model": self.model,
            "sightings": self.sightings,
            "false_positives": self.false_positives,
            "organisations": self.organisations,
            "last_seen": us_to_ts(self.last_seen_us) if self.last_seen_us else None,
            "valid_until": us_to_ts(self.valid_until_us),
            "computed": us_to_ts(self.computed_us),
        }


@dataclass(frozen=True, slots=True)
class Sighted:
    org_id: int
    count: int
    last_seen_us: int
    false_positive: bool


def confidence_of(obj: Mapping[str, Any], default: int) -> int:
    value = obj.get("confidence")
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100:
        return value
    return default


def compute(
    stix_id: str,
    indicator: Mapping[str, Any],
    seen: Sequence[Sighted],
    now_us: int,
    settings: Params | None = None,
    default_confidence: int | None = None,
) -> Score:
    """The score of one indicator (its newest version) with the sightings that count.
    `default_confidence`: its organisation's, if set (else the node's)."""
    p = settings or _params
    default = p.default_confidence if default_confidence is None else default_confidence
    confidence = confidence_of(indicator, default)
    model = decay.model_for(indicator.get("pattern"))
    modified = indicator.get("modified") or indicator.get("created")
    reference = ts_to_us(modified) if isinstance(modified, str) else now_us
    last_seen: int | None = None
    sighted = false_positives = organisations = 0
    if not seen:  # most indicators of a bulk write: nothing to weigh or count
        base = decay.base_score(confidence, (), now_us)
    else:
        base = decay.base_score(
            confidence, [decay.Seen(s.last_seen_us, s.false_positive) for s in seen], now_us
        )
        true_seen = [s for s in seen if not s.false_positive]
        last_seen = max((s.last_seen_us for s in true_seen), default=None)
        if last_seen is not None:
            reference = max(reference, min(last_seen, now_us))
        sighted = sum(s.count for s in true_seen)
        false_positives = sum(s.count for s in seen if s.false_positive)
        organisations = len({s.org_id for s in true_seen})
    return Score(
        stix_id=stix_id,
        score=decay.as_points(decay.decayed(base, now_us - reference, model)),
        base=base,
        confidence=confidence,
        model=model.name,
        sightings=sighted,
        false_positives=false_positives,
        organisations=organisations,
        last_seen_us=last_seen,
        valid_until_us=reference + decay.time_to_threshold_us(base, p.threshold, model),
        computed_us=now_us,
    )


def public_sightings(session: Session, ids: Sequence[str]) -> dict[str, list[Sighted]]:
    """The live sightings of `ids` that count for everyone, by sighted id."""
    found: dict[str, list[Sighted]] = defaultdict(list)
    # Most indicators have no sighting: one probe of the sighted-id index settles those, and
    # the join below starts from the few sighting ids (the planner would otherwise walk the
    # object store from the other side).
    sighting_ids = list(
        session.scalars(
            select(sightings.c.sighting_id).where(sightings.c.sighting_of_ref.in_(list(ids)))
        )
    )
    for chunk in chunks(sighting_ids):
        query = (
            select(
                sightings.c.sighting_of_ref,
                sightings.c.org_id,
                sightings.c.count,
                sightings.c.last_seen_us,
                sightings.c.false_positive,
            )
            .select_from(
                sightings.join(
                    objects,
                    (objects.c.stix_id == sightings.c.sighting_id)
                    & (objects.c.owner_org_id == sightings.c.org_id)
                    & latest_flag(objects),
                )
            )
            .where(
                objects.c.stix_id.in_(list(chunk)),
                sightings.c.sighting_of_ref.in_(list(ids)),
                objects.c.revoked.is_(False),
                public_sighting_filter(sightings, objects),
            )
        )
        for ref, org_id, count, last_seen, fp in session.execute(query):
            found[ref].append(Sighted(org_id, count, last_seen, bool(fp)))
    return found


def _newest_indicators(
    session: Session, ids: Sequence[str]
) -> dict[str, tuple[dict[str, Any], int]]:
    """The newest live version of each indicator among `ids` (of any organisation's copy),
    with the organisation holding it."""
    query = (
        select(objects.c.stix_id, objects.c.raw, objects.c.owner_org_id)
        .where(
            objects.c.stix_id.in_(list(ids)),
            latest_flag(objects),  # the id index serves (the type is checked on the object)
            objects.c.revoked.is_(False),
        )
        .order_by(objects.c.modified_us)
    )
    return {sid: (orjson.loads(raw), owner) for sid, raw, owner in session.execute(query)}


def org_defaults(session: Session) -> dict[int, int]:
    """Default confidence per organisation, where one is set (`minga score confidence`)."""
    return dict(session.execute(select(org_confidence.c.org_id, org_confidence.c.confidence)).all())


def set_org_default(session: Session, org_id: int, confidence: int | None) -> None:
    """Set (or with None, clear) an organisation's default confidence."""
    session.execute(delete(org_confidence).where(org_confidence.c.org_id == org_id))
    if confidence is not None:
        session.execute(insert(org_confidence).values(org_id=org_id, confidence=confidence))


def recompute(
    session: Session,
    ids: Iterable[str],
    written: Mapping[str, dict[str, Any]] | None = None,
    now_us: int | None = None,
    writer_org_id: int = 0,
) -> int:
    """Compute and store the scores of `ids` (indicators; other ids are skipped, and a revoked
    or deleted indicator loses its score). `written`: newest versions already in hand, written
    by the organisation `writer_org_id`."""
    now = now_us if now_us is not None else ts_to_us(now_ts())
    written = written or {}
    defaults = org_defaults(session)
    stored = 0
    for chunk in chunks(sorted(set(ids))):
        found = {i: (written[i], writer_org_id) for i in chunk if i in written}
        missing = [i for i in chunk if i not in found]
        if missing:
            found.update(_newest_indicators(session, missing))
        seen = public_sightings(session, chunk)
        rows = [
            _row(compute(sid, obj, seen.get(sid, []), now, None, defaults.get(owner)))
            for sid, (obj, owner) in found.items()
            if obj.get("type") == "indicator" and not obj.get("revoked")
        ]
        scored = {r[0] for r in rows}
        unscored = [i for i in chunk if i not in scored]  # revoked, deleted, no indicator
        if unscored:
            session.execute(
                delete(indicator_scores).where(indicator_scores.c.stix_id.in_(unscored))
            )
        if rows:
            _upsert(session, rows)
        stored += len(rows)
    return stored


SCORE_KEYS = tuple(c.name for c in indicator_scores.c)  # stix_id first
_score_values = attrgetter(*SCORE_KEYS)  # a Score's values in SCORE_KEYS order, at C speed


def _upsert(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """Insert or replace score rows (`SCORE_KEYS` order) in one driver-level executemany: the
    rows are plain values, and SQLAlchemy's per-row parameter processing of an upsert was
    a third of the cost of scoring a bulk write. SQLite and PostgreSQL say it alike."""
    conn = session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    replaced = ", ".join(f"{k} = excluded.{k}" for k in SCORE_KEYS if k != "stix_id")
    sql = (
        f"INSERT INTO {indicator_scores.name} ({', '.join(SCORE_KEYS)}) "
        f"VALUES ({', '.join([mark] * len(SCORE_KEYS))}) "
        f"ON CONFLICT (stix_id) DO UPDATE SET {replaced}"
    )
    conn.exec_driver_sql(sql, rows)


def _row(s: Score) -> tuple[Any, ...]:
    """The score's values in `SCORE_KEYS` order."""
    return _score_values(s)


def refresh(session: Session, now_us: int | None = None, batch: int = 5000) -> int:
    """Recompute every live indicator's score (ageing); scores of gone indicators are dropped.
    Returns how many scores are stored."""
    now = now_us if now_us is not None else ts_to_us(now_ts())
    # Indicator ids sort together ("indicator--..."): a range of the id index, walked in order.
    last, end = "indicator--", "indicator-."
    total = 0
    while True:
        ids = list(
            session.scalars(
                select(objects.c.stix_id)
                .where(objects.c.stix_id > last, objects.c.stix_id < end)
                .group_by(objects.c.stix_id)
                .order_by(objects.c.stix_id)
                .limit(batch)
            )
        )
        if not ids:
            break
        total += recompute(session, ids, now_us=now)
        last = ids[-1]
    gone = ~exists(select(objects.c.pk).where(objects.c.stix_id == indicator_scores.c.stix_id))
    session.execute(delete(indicator_scores).where(gone))
    return total


def score_of(session: Session, stix_ids: Iterable[str]) -> dict[str, Score]:
    """The stored scores of those of `stix_ids` that are scored indicators.

    A score is no secret of the caller's (see the module note): callers pass ids of objects
    they may see."""
    out: dict[str, Score] = {}
    for chunk in chunks(sorted(set(stix_ids))):
        for row in session.execute(
            select(indicator_scores).where(indicator_scores.c.stix_id.in_(chunk))
        ).mappings():
            out[row["stix_id"]] = Score(**dict(row))
    return out


def score_at_least(points: int, table: Any = objects) -> Any:
    """SQL: rows of `table` (an objects table or alias) whose indicator scores `points` or more.
    Objects without a score (not indicators) do not match."""
    return exists(
        select(indicator_scores.c.stix_id).where(
            indicator_scores.c.stix_id == table.c.stix_id, indicator_scores.c.score >= points
        )
    )


def still_valid(now_us: int, table: Any = objects) -> Any:
    """SQL: rows of `table` whose indicator's score has not yet fallen under the threshold."""
    return exists(
        select(indicator_scores.c.stix_id).where(
            indicator_scores.c.stix_id == table.c.stix_id,
            indicator_scores.c.valid_until_us > now_us,
        )
    )
