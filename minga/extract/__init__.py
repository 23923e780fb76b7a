"""IOC extraction: free-text CTI reports -> indicators.

>>> from minga.extract import extract_iocs
>>> [(i.type.value, i.value) for i in extract_iocs("C2 at hxxp://evil[.]com/gate.php")]
[('url', 'http://evil.com/gate.php')]
"""

from .engine import extract_iocs, unique
from .model import Ioc, IocType, ReportError
from .readers import ReportText, read_report
from .refang import refang_value
from .stix import ioc_to_stix_pattern

__all__ = [
    "Ioc",
    "IocType",
    "ReportError",
    "ReportText",
    "extract_iocs",
    "ioc_to_stix_pattern",
    "read_report",
    "refang_value",
    "unique",
]
