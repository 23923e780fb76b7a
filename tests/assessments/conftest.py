"""The web fixtures (demo community, signing in) for the assessment pages."""

from tests.web.conftest import demo  # noqa: F401
