"""Cost of ticking a drill (deliveries and scoring run whenever an exercise is looked at).

A running Costa Rica 2022 exercise with T teams on SQLite: the tick that delivers the first
inject to every team (an incident each), then a steady tick with nothing due (scoring only),
against a peer in the same run: the director's plain incident list.

    .venv/bin/python benchmarks/exercises.py                 # 2, 10 and 30 teams
    .venv/bin/python benchmarks/exercises.py --teams 5 50
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from minga.accounts import service as accounts  # noqa: E402
from minga.db import make_engine, make_sessionmaker  # noqa: E402
from minga.exercises import run, service  # noqa: E402
from minga.incidents import service as incidents  # noqa: E402
from minga.migrate import upgrade  # noqa: E402

T0 = datetime(2026, 5, 8, 14, 0, tzinfo=UTC)
SCALE = "low,medium,high,very-high"


def median_ms(fn, repeat: int = 15) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def one(teams: int, directory: Path) -> None:
    engine = make_engine(f"sqlite:///{directory / f'drill-{teams}.db'}")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        hub = accounts.create_organisation(s, None, name="Hub", country="CR", sector="government",
                                           kind="csirt")  # fmt: skip
        user = accounts.create_user(s, None, org_id=hub.id, name="director", role="coordinator")
        director = accounts.principal_for(s, user)
        orgs = [accounts.create_organisation(s, None, name=f"Team {i}", country="CR",
                                             sector="government", kind="csirt").id
                for i in range(teams)]  # fmt: skip
        service.ensure_shipped(s, T0)
        sc = service.get_scenario(s, "costa-rica-2022-ransomware")
        ex = service.create_exercise(s, director, scenario_id=sc.id, name="bench", lang="en",
                                     speed=60, team_org_ids=orgs, at=T0)  # fmt: skip
        service.change_state(s, director, ex.id, "start", at=T0)
        s.commit()
    ctx = run.RunContext(SCALE)
    with sessions() as s:
        ex = service.get_exercise(s, director, ex.id)
        start = time.perf_counter()
        delivered = run.tick(s, ex, T0 + timedelta(seconds=1), ctx)
        first_ms = (time.perf_counter() - start) * 1000
        s.commit()
        steady = median_ms(lambda: run.tick(s, ex, T0 + timedelta(seconds=5), ctx))
        query = incidents.IncidentQuery()
        peer = median_ms(lambda: incidents.list_incidents(s, director, query))
    engine.dispose()
    print(f"{teams:>5} teams: delivering tick {first_ms:8.1f} ms ({len(delivered)} injects), "
          f"steady tick {steady:6.1f} ms, incident list {peer:5.1f} ms, "
          f"steady/list {steady / peer:5.1f}×")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, nargs="+", default=[2, 10, 30])
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} (figures are loaded; compare the ratios)")
    with tempfile.TemporaryDirectory() as directory:
        for teams in args.teams:
            one(teams, Path(directory))


if __name__ == "__main__":
    main()
