"""Ingestion: STIX, MISP and CSV feeds into the object store; free-text reports into drafts.

Stages live in `pipeline`, the job queue and runner in `jobs`, report drafts in `drafts`,
fetching files, directories, URLs and MISP feeds in `sources`.
"""
