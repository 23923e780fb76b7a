"""Fixtures shared with other domains' tests."""

from tests.incidents.conftest import community  # noqa: F401 (the incident tests' community)
