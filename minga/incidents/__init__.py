"""Coordinated incidents: cases with tasks, records and playbooks, escalated between
organisations (victim -> sector ISAC -> national CSIRT) with acknowledgement deadlines."""

# Incidents count as evidence of national capacity (assessments) once this domain is loaded.
from minga.incidents import evidence as _evidence  # noqa: F401
