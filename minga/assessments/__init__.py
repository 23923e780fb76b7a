"""Capacity and risk: national maturity (CMM 2021), organisational self-assessment (NIST CSF 2.0),
the risk register and regional situation reports."""
