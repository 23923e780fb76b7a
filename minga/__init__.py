"""Minga: threat-intelligence sharing, federation and coordinated response for CSIRTs."""

__version__ = "0.1.0"
