"""IOC extraction from free text.

Why not iocsearcher / ioc-finder / iocextract: they are 4-20x slower on report text
(ioc-finder parses with pyparsing), they read ``invoice.zip``/``wscript.shell`` as domains,
version numbers as IPs and GUIDs as MD5s, keep Markdown pipes in URLs, and give neither
offsets nor the sentence.  This engine runs a few linear-time compiled regexes over the
refanged text (each anchored at token starts so ordinary prose is skipped quickly) and
does the fine-grained validation in Python on the few candidates that survive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .links import LinkContext
from .model import Ioc, IocType
from .refang import Refanged, refang
from .scanners import (
    Cand,
    Spans,
    scan_dotted,
    scan_emails,
    scan_ipv4,
    scan_paths,
    scan_rest,
    scan_unix_paths,
    scan_urls,
)
from .sentences import SentenceFinder
from .warninglists import is_benign

__all__ = ["extract_iocs", "unique"]

_MAX_LENGTH = 4096  # longer "URLs"/paths are garbage (or hostile input), not indicators
# Types hidden when they sit inside a URL / e-mail / path / registry key that was found.
# Hashes, CVE and ATT&CK ids stay: virustotal.com/gui/file/<sha256> names a sample.
_CONTAINED = frozenset(
    {
        IocType.DOMAIN,
        IocType.IPV4,
        IocType.IPV6,
        IocType.CIDR,
        IocType.FILE_NAME,
        IocType.FILE_PATH,
        IocType.EMAIL,
        IocType.ASN,
        IocType.BITCOIN,
        IocType.MONERO,
    }
)


def _candidates(t: str, rf: Refanged) -> list[Cand]:
    containers: list[Cand] = []
    scan_urls(t, containers)
    if "@" in t:
        scan_emails(t, containers)
    scan_paths(t, containers)
    if "/" in t or "~" in t:
        scan_unix_paths(t, containers)
    spans = Spans((c[0], c[1]) for c in containers)
    found: list[Cand] = []
    scan_ipv4(t, found, spans)
    if found:  # "1.2.3.4/gate.php" is a URL: what is inside is not a file name
        urls = [(c[0], c[1]) for c in found if c[2] is IocType.URL]
        spans = Spans([(c[0], c[1]) for c in containers] + urls)
    scan_dotted(t, rf, found, spans)
    new_urls = [(c[0], c[1]) for c in found if c[2] is IocType.URL]
    if new_urls:
        spans = Spans([(c[0], c[1]) for c in containers] + new_urls)
    # containers inside containers (an e-mail inside a URL, a path inside a URL...)
    kept = _drop_nested(containers)
    rest: list[Cand] = []
    scan_rest(t, rest)
    rest = [c for c in rest if c[2] not in _CONTAINED or not spans.covers(c[0], c[1])]
    return kept + found + rest


def _drop_nested(containers: list[Cand]) -> list[Cand]:
    """Drop e-mails/paths that sit inside a longer container (one sorted sweep)."""
    containers.sort(key=lambda c: (c[0], -c[1]))
    kept: list[Cand] = []
    max_end = -1
    for c in containers:
        if c[1] <= max_end and c[2] is not IocType.URL and c[2] in _CONTAINED:
            continue
        kept.append(c)
        max_end = max(max_end, c[1])
    return kept


def extract_iocs(text: str, *, include_benign: bool = False) -> list[Ioc]:
    """Extract every indicator occurrence from ``text``, in text order.

    Defanged forms are refanged; ``start``/``end`` index the original ``text``.  Values on
    a warninglist, and URLs written only as live hyperlinks of the document (references,
    see :mod:`minga.extract.links`), are dropped unless ``include_benign`` is true (then
    ``benign=True``).
    """
    rf = refang(text)
    t = rf.text
    cands = _candidates(t, rf)
    cands.sort(key=lambda c: (c[0], -c[1]))
    links = LinkContext(t)
    # (candidate, benign, written as a link); a URL also written as plain text (an IOC
    # table next to a link to it) is not a reference anywhere in the document
    scored: list[tuple[Cand, bool, bool]] = []
    plain_urls: set[str] = set()
    for cand in cands:
        s, e, kind, value = cand
        if e - s > _MAX_LENGTH:
            continue
        benign = is_benign(kind, value)
        link = False
        if kind is IocType.URL and not benign:
            link = links.is_link(s, e) and not rf.defanged(s, e)
            if not link:
                plain_urls.add(value)
        scored.append((cand, benign, link))
    sentence: Callable[[int, int], str] = SentenceFinder(text)
    result: list[Ioc] = []
    for (s, e, kind, value), benign, link in scored:
        benign = benign or (link and value not in plain_urls)
        if benign and not include_benign:
            continue
        start = rf.start_to_orig(s)
        end = rf.end_to_orig(e)
        result.append(Ioc(kind, value, text[start:end], start, end, sentence(start, end), benign))
    return result


def unique(iocs: Iterable[Ioc]) -> list[Ioc]:
    """Keep the first occurrence of each (type, value)."""
    seen: set[tuple[IocType, str]] = set()
    out: list[Ioc] = []
    for ioc in iocs:
        key = (ioc.type, ioc.value)
        if key not in seen:
            seen.add(key)
            out.append(ioc)
    return out
