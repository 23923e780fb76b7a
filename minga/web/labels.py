"""Words a page shows for codes: STIX types, indicator kinds, sectors, opinions.

Each is marked with `N_` and translated where it is shown (the `*_label` template filters); a
code without a label is shown as it is.
"""

from __future__ import annotations

from minga.accounts import places
from minga.web import i18n
from minga.web.i18n import N_

TYPES: dict[str, str] = {
    "attack-pattern": N_("Attack pattern"),
    "campaign": N_("Campaign"),
    "course-of-action": N_("Course of action"),
    "grouping": N_("Grouping"),
    "identity": N_("Identity"),
    "incident": N_("Incident"),
    "indicator": N_("Indicator"),
    "infrastructure": N_("Infrastructure"),
    "intrusion-set": N_("Intrusion set"),
    "location": N_("Location"),
    "malware": N_("Malware"),
    "malware-analysis": N_("Malware analysis"),
    "note": N_("Note"),
    "observed-data": N_("Observed data"),
    "opinion": N_("Opinion"),
    "relationship": N_("Relationship"),
    "report": N_("Report"),
    "sighting": N_("Sighting"),
    "threat-actor": N_("Threat actor"),
    "tool": N_("Tool"),
    "vulnerability": N_("Vulnerability"),
    "artifact": N_("Artifact"),
    "autonomous-system": N_("Autonomous system"),
    "directory": N_("Directory"),
    "domain-name": N_("Domain name"),
    "email-addr": N_("E-mail address"),
    "email-message": N_("E-mail message"),
    "file": N_("File"),
    "ipv4-addr": N_("IPv4 address"),
    "ipv6-addr": N_("IPv6 address"),
    "mac-addr": N_("MAC address"),
    "mutex": N_("Mutex"),
    "network-traffic": N_("Network traffic"),
    "process": N_("Process"),
    "software": N_("Software"),
    "url": N_("URL"),
    "user-account": N_("User account"),
    "windows-registry-key": N_("Windows registry key"),
    "x509-certificate": N_("X.509 certificate"),
}

IOC_KINDS: dict[str, str] = {
    "ipv4": N_("IPv4 address"),
    "ipv6": N_("IPv6 address"),
    "cidr": N_("Network range (CIDR)"),
    "domain": N_("Domain name"),
    "url": N_("URL"),
    "email": N_("E-mail address"),
    "md5": N_("MD5 hash"),
    "sha1": N_("SHA-1 hash"),
    "sha256": N_("SHA-256 hash"),
    "sha512": N_("SHA-512 hash"),
    "cve": N_("Vulnerability (CVE)"),
    "attack_technique": N_("ATT&CK technique"),
    "file_path": N_("File path"),
    "file_name": N_("File name"),
    "registry_key": N_("Registry key"),
    "bitcoin": N_("Bitcoin address"),
    "monero": N_("Monero address"),
    "asn": N_("Autonomous system"),
}

# STIX 2.1 industry-sector-ov, plus the short forms members type.
SECTORS: dict[str, str] = {
    "agriculture": N_("agriculture"),
    "aerospace": N_("aerospace"),
    "automotive": N_("automotive"),
    "chemical": N_("chemical"),
    "commercial": N_("commercial"),
    "communications": N_("communications"),
    "construction": N_("construction"),
    "defense": N_("defence"),
    "education": N_("education"),
    "energy": N_("energy"),
    "entertainment": N_("entertainment"),
    "finance": N_("finance"),
    "financial-services": N_("financial services"),
    "government": N_("government"),
    "government-national": N_("national government"),
    "government-regional": N_("regional government"),
    "government-local": N_("local government"),
    "government-public-services": N_("public services"),
    "health": N_("health"),
    "healthcare": N_("health care"),
    "hospitality-leisure": N_("hospitality and leisure"),
    "infrastructure": N_("infrastructure"),
    "insurance": N_("insurance"),
    "manufacturing": N_("manufacturing"),
    "mining": N_("mining"),
    "non-profit": N_("non-profit"),
    "pharmaceuticals": N_("pharmaceuticals"),
    "retail": N_("retail"),
    "technology": N_("technology"),
    "telecommunications": N_("telecommunications"),
    "transportation": N_("transport"),
    "utilities": N_("utilities"),
    "water": N_("water"),
}

# STIX 2.1 relationship types (the common and the specified ones); others show as written.
VERBS: dict[str, str] = {
    "analysis-of": N_("analysis of"),
    "attributed-to": N_("attributed to"),
    "authored-by": N_("authored by"),
    "based-on": N_("based on"),
    "beacons-to": N_("beacons to"),
    "characterizes": N_("characterises"),
    "communicates-with": N_("communicates with"),
    "compromises": N_("compromises"),
    "consists-of": N_("consists of"),
    "controls": N_("controls"),
    "delivers": N_("delivers"),
    "derived-from": N_("derived from"),
    "downloads": N_("downloads"),
    "drops": N_("drops"),
    "duplicate-of": N_("duplicate of"),
    "exfiltrates-to": N_("exfiltrates to"),
    "exploits": N_("exploits"),
    "has": N_("has"),
    "hosts": N_("hosts"),
    "impersonates": N_("impersonates"),
    "indicates": N_("indicates"),
    "investigates": N_("investigates"),
    "located-at": N_("located at"),
    "mitigates": N_("mitigates"),
    "originates-from": N_("originates from"),
    "owns": N_("owns"),
    "related-to": N_("related to"),
    "remediates": N_("remediates"),
    "resolves-to": N_("resolves to"),
    "targets": N_("targets"),
    "uses": N_("uses"),
    "variant-of": N_("variant of"),
}

OPINIONS: dict[str, str] = {
    "strongly-disagree": N_("strongly disagrees"),
    "disagree": N_("disagrees"),
    "neutral": N_("neutral"),
    "agree": N_("agrees"),
    "strongly-agree": N_("strongly agrees"),
}


def _label(table: dict[str, str], code: str) -> str:
    word = table.get(code)
    return i18n.gettext(word) if word else code


def type_label(code: str) -> str:
    return _label(TYPES, code)


def ioc_label(code: str) -> str:
    return _label(IOC_KINDS, code)


def sector_label(code: str) -> str:
    """A STIX industry sector (identity objects), else an organisation's sector from the
    node's controlled vocabulary (`minga.accounts.places.SECTORS`), translated."""
    key = (code or "").strip().lower()
    if key in SECTORS:
        return _label(SECTORS, key)
    return _label(places.SECTORS, key)


def verb_label(code: str) -> str:
    return _label(VERBS, code)


def opinion_label(code: str) -> str:
    return _label(OPINIONS, code)


FILTERS = {
    "type_label": type_label,
    "ioc_label": ioc_label,
    "sector_label": sector_label,
    "verb_label": verb_label,
}
