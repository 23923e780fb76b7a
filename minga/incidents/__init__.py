"""Coordinated incidents: cases with tasks, records and playbooks, escalated between
organisations (victim -> sector ISAC -> national CSIRT) with acknowledgement deadlines."""
