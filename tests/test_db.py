"""Engines sized by the node's settings: the SQLite page-cache budget (`MINGA_SQLITE_CACHE_MB`)
shared out among a worker's connections, and the connections a worker keeps on each backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from minga.db import engine_for, memory_mb, pool_size, sqlite_cache_mb
from minga.settings import Settings


def _settings(monkeypatch: pytest.MonkeyPatch, db_url: str, **env: str) -> Settings:
    monkeypatch.setenv("MINGA_DATABASE_URL", db_url)
    for key, value in env.items():
        monkeypatch.setenv(f"MINGA_{key.upper()}", value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_the_sqlite_cache_setting_is_shared_out_among_the_connections(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    # A page cache per connection is SQLite's; PostgreSQL's shared buffers are the server's.
    url = f"sqlite:///{tmp_path / 'minga.db'}"
    settings = _settings(monkeypatch, url, sqlite_cache_mb="40", db_pool_size="4")
    assert settings.sqlite_cache_mb == 40
    engine = engine_for(settings)
    try:
        with engine.connect() as conn:
            cache = conn.scalar(text("PRAGMA cache_size"))
        # 4 kept and 4 more in a burst: 40 MB / 8 each, as KiB (negative: a size, not pages).
        assert cache == -(40 * 1024 // 8)
    finally:
        engine.dispose()


def test_the_default_cache_follows_the_machine_within_bounds():
    expected = max(16, min(128, memory_mb() // 64))
    assert sqlite_cache_mb(0) == expected
    assert 16 <= sqlite_cache_mb(0) <= 128
    assert sqlite_cache_mb(300) == 300


def test_a_bad_cache_setting_is_refused(monkeypatch: pytest.MonkeyPatch, db_url: str):
    with pytest.raises(ValueError, match="sqlite_cache_mb"):
        _settings(monkeypatch, db_url, sqlite_cache_mb="-1")


def test_each_worker_keeps_its_share_of_the_connections(
    monkeypatch: pytest.MonkeyPatch, db_url: str
):
    settings = _settings(monkeypatch, db_url, workers="4")
    engine = engine_for(settings)
    try:
        kept = engine.pool.size()  # type: ignore[attr-defined]
        expected = 4 if engine.dialect.name == "sqlite" else 10  # 40 shared by 4 workers
        assert kept == expected == pool_size(db_url, 0, 4)
        with engine.connect() as conn:  # the engine is usable as sized
            assert conn.scalar(text("SELECT 1")) == 1
    finally:
        engine.dispose()
