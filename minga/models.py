"""Every table of the node, imported in one place so migrations see the whole schema."""

from __future__ import annotations

from minga import audit  # noqa: F401
from minga.accounts import models as accounts_models  # noqa: F401
from minga.advisories import models as advisories_models  # noqa: F401
from minga.assessments import models as assessments_models  # noqa: F401
from minga.correlate import feed_models  # noqa: F401
from minga.correlate import models as correlate_models  # noqa: F401
from minga.correlate import score_models as correlate_score_models  # noqa: F401
from minga.db import Base
from minga.events import bus_models as events_bus_models  # noqa: F401
from minga.events import models as events_models  # noqa: F401
from minga.events import notify_models  # noqa: F401
from minga.exercises import models as exercises_models  # noqa: F401
from minga.federation import models as federation_models  # noqa: F401
from minga.federation import receipt_models  # noqa: F401
from minga.incidents import models as incidents_models  # noqa: F401
from minga.ingest import models as ingest_models  # noqa: F401
from minga.intel import models as intel_models  # noqa: F401
from minga.intel import search as intel_search  # noqa: F401
from minga.knowledge import models as knowledge_models  # noqa: F401
from minga.sensor import alert_models as sensor_alert_models  # noqa: F401
from minga.taxii import models as taxii_models  # noqa: F401

metadata = Base.metadata
