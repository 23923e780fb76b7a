"""Scanners: one pass per family of indicators over the refanged text.

Each scanner appends ``(start, end, type, value)`` candidates (offsets in the refanged
text); :mod:`minga.extract.engine` resolves overlaps and builds the :class:`Ioc` objects.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

from . import patterns as P
from .classify import classify_dotted, is_domain
from .model import IocType
from .refang import Refanged
from .validate import is_bitcoin_address, parse_ipv4, parse_ipv6

__all__ = [
    "Cand",
    "Spans",
    "scan_dotted",
    "scan_emails",
    "scan_ipv4",
    "scan_paths",
    "scan_rest",
    "scan_unix_paths",
    "scan_urls",
]

Cand = tuple[int, int, IocType, str]
_HASH_TYPES = {32: IocType.MD5, 40: IocType.SHA1, 64: IocType.SHA256, 128: IocType.SHA512}
_TRAILING = ".,;:!?*_~'\"»”’…"
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}
_REG_ROOTS = {
    "HKEY_LOCAL_MACHINE": "HKLM",
    "HKEY_CURRENT_USER": "HKCU",
    "HKEY_CLASSES_ROOT": "HKCR",
    "HKEY_USERS": "HKU",
    "HKEY_CURRENT_CONFIG": "HKCC",
}


def _trim(text: str, start: int, end: int) -> int:
    """New end after dropping trailing punctuation and unbalanced closing brackets.

    AsciiDoc passthroughs (``+x+``, ``++x++``, ``+++x+++``, how ESET writes indicators)
    close with as many '+' as opened them right before ``start``.
    """
    opened = 0
    while opened < 3 and start > opened and text[start - opened - 1] == "+":
        opened += 1
    while end > start:
        last = text[end - 1]
        if last in _TRAILING:
            end -= 1
        elif last == "+" and opened:
            end -= 1
            opened -= 1
        elif last in _CLOSERS:
            chunk = text[start:end]
            if chunk.count(_CLOSERS[last]) >= chunk.count(last):
                break
            end -= 1
        else:
            break
    return end


class Spans:
    """Union of container spans, queried with bisect."""

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        merged: list[list[int]] = []
        for s, e in sorted(spans):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        self.starts = [s for s, _ in merged]
        self.ends = [e for _, e in merged]

    def covers(self, start: int, end: int) -> bool:
        i = bisect_right(self.starts, start) - 1
        return i >= 0 and end <= self.ends[i]


def _url_host_ok(url: str) -> bool:
    rest = url.split("://", 1)[1] if "://" in url else url
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
    host = host.split(":", 1)[0].lower()
    return parse_ipv4(host) is not None or is_domain(host)


def _normalise_url(url: str) -> str:
    """Scheme and host in lower case; ``&amp;`` (a URL copied from HTML source) is ``&``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    cut = len(rest)
    for ch in "/?#":
        pos = rest.find(ch)
        if pos != -1:
            cut = min(cut, pos)
    head = f"{scheme.lower()}://" if sep else ""
    return head + rest[:cut].lower() + rest[cut:].replace("&amp;", "&")


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _is_word(ch: str) -> bool:
    return ch in _WORD_CHARS or (ch > "\x7f" and ch.isalnum())


def _host_start(t: str, pos: int) -> int:
    """Where the host begins after "://" at ``pos``: skip a typo's extra slashes
    ("https:///evil.com") or one space or line break ("https:// evil.com", a PDF line wrap)."""
    nxt = t[pos : pos + 1]
    if nxt == "/":
        return pos + (2 if t[pos + 1 : pos + 2] == "/" else 1)
    if nxt == " " or nxt == "\n":
        return pos + 1
    return pos


# Markup right after a URL ("http://x.com/<br>") is not a placeholder like <user_id>.
_HTML_TAGS = frozenset(
    "a abbr b br code div em font hr i img kbd li mark ol p pre s small span strong sub sup "
    "table tbody td th tr tt u ul".split()
)


def _url_end(t: str, host: int, end: int) -> int:
    """End of the URL whose host starts at ``host`` and whose plain characters end at ``end``.

    Goes on over placeholders in the path (``/[random].php``, ``?id={ID}&k=1``,
    ``&user=<user_id>``, ``/<PC_Name>_<Drive_SN>/``); a ``[`` is an AsciiDoc link text
    instead (``url[text]``, see :mod:`.links`) unless it follows one of ``/ = ? & _ - .`` or
    another placeholder, or the URL goes on after its ``]``; a ``<`` must follow one of
    those too (else it is markup).  Stops where a second URL is run on
    after a comma or semicolon.
    """
    size = len(t)
    while end < size and t[end] in "[{<" and t.find("/", host, end) != -1:
        group = P.URL_PLACEHOLDER.match(t, end)
        if group is None:
            break
        more = P.URL_BODY.match(t, group.end())
        after_separator = t[end - 1] in "/=?&_-.}]>"  # or right after another placeholder
        if t[end] == "<" and (not after_separator or group.group()[1:-1].lower() in _HTML_TAGS):
            break
        if t[end] == "[" and not after_separator and more is None:
            break
        end = more.end() if more is not None else group.end()
    joined = P.URL_JOIN.search(t, host, end)
    return joined.start() if joined is not None else end


def scan_urls(t: str, out: list[Cand]) -> None:
    pos = t.find("://")
    while pos != -1:
        nxt = pos + 3
        m = P.SCHEME_REV.match(t[max(0, pos - 16) : pos][::-1])
        if m is not None:
            host = _host_start(t, pos + 3)
            body = P.URL_BODY.match(t, host)
            if body is not None:
                s = pos - m.end()
                e = _trim(t, s, _url_end(t, host, body.end()))
                url = t[s : pos + 3] + t[host:e]
                if _url_host_ok(url):
                    out.append((s, e, IocType.URL, _normalise_url(url)))
                    nxt = max(e, nxt)
        pos = t.find("://", nxt)


def scan_emails(t: str, out: list[Cand]) -> None:
    pos = t.find("@")
    while pos != -1:
        nxt = pos + 1
        left = P.EMAIL_LOCAL_REV.match(t[max(0, pos - 64) : pos][::-1])
        right = P.EMAIL_DOMAIN.match(t, pos + 1)
        if left is not None and right is not None:
            local = left.group()[::-1].lstrip(".")
            s = pos - len(local)
            domain = right.group().rstrip("-")
            e = pos + 1 + len(domain)
            if local and (s == 0 or t[s - 1] not in "@.+-%") and is_domain(domain.lower()):
                out.append((s, e, IocType.EMAIL, f"{local}@{domain}".lower()))
                nxt = e
        pos = t.find("@", nxt)


def scan_paths(t: str, out: list[Cand]) -> None:
    if "\\" not in t:
        return
    registry = P.REGISTRY.finditer(t) if ("HK" in t or "hk" in t or "Hk" in t) else ()
    for m in registry:
        s = m.start()
        e = _trim(t, s, m.end())
        value = t[s:e].replace("\\\\", "\\").rstrip("\\ ")
        root, _, rest = value.partition("\\")
        root = root.rstrip(":").upper()
        out.append((s, e, IocType.REGISTRY_KEY, f"{_REG_ROOTS.get(root, root)}\\{rest}"))
    search = P.WIN_ANCHOR.search
    pos = 0
    while (hit := search(t, pos)) is not None:
        p = hit.start() - 1
        pos = p + 2
        ch = t[p]
        if ch == ":":
            s = p - 1
            if s < 0 or not t[s].isalpha() or (s > 0 and (_is_word(t[s - 1]) or t[s - 1] == "\\")):
                continue
        elif ch == "%":
            s = t.rfind("%", max(0, p - 42), p)
            if s == -1:
                continue
        else:
            s = p
            if s > 0 and (_is_word(t[s - 1]) or t[s - 1] == "\\"):
                continue
        path = P.WIN_PATH.match(t, s)
        if path is None:
            continue
        e = _trim(t, s, path.end())
        entry = P.DLL_ENTRY.search(t, s, e)
        if entry is not None:
            e = entry.start()  # rundll32 syntax: C:\\x\\evil.dll,DllRegisterServer
        pos = max(pos, e)
        unc = "\\\\" if t.startswith("\\\\", s) else ""
        value = unc + t[s + len(unc) : e].replace("\\\\", "\\")
        if value.endswith("\\") or value.endswith(":"):
            continue
        if value[:9].lower() == "\\\\.\\root\\":
            continue  # a WMI namespace (winmgmts:\\.\root\cimv2), not a file
        out.append((s, e, IocType.FILE_PATH, value))


def scan_unix_paths(t: str, out: list[Cand]) -> None:
    for m in P.UNIX_PATH.finditer(t):
        s = m.start()
        e = _trim(t, s, m.end())
        if e - s > 4:
            out.append((s, e, IocType.FILE_PATH, t[s:e]))


def _url_tail(t: str, host_start: int, host_end: int) -> int:
    """End of a scheme-less URL starting at host_start, or -1 when no path follows."""
    m = P.URL_TAIL.match(t, host_end)
    if m is None:
        return -1
    end = _trim(t, host_start, _url_end(t, host_end, m.end()))
    slash = t.find("/", host_end, end)
    if slash == -1 or end - slash < 2:
        return -1
    return end


def scan_ipv4(t: str, out: list[Cand], inside: Spans) -> None:
    size = len(t)
    for m in P.IPV4.finditer(t):
        s, e = m.span()
        if s > 0 and (_is_word(t[s - 1]) or t[s - 1] == "."):
            continue
        if e < size and (_is_word(t[e]) or (t[e] == "." and e + 1 < size and t[e + 1].isdigit())):
            continue
        if inside.covers(s, e):
            continue
        addr, _, prefix = m.group().partition("/")
        if parse_ipv4(addr) is None:
            continue
        if P.VERSION_BEFORE.search(t, max(0, s - 24), s) is not None:
            continue
        if prefix:
            if int(prefix) <= 32:
                out.append((s, e, IocType.CIDR, f"{addr}/{int(prefix)}"))
            continue
        tail = _url_tail(t, s, e)
        if tail != -1:
            out.append((s, tail, IocType.URL, _normalise_url(t[s:tail])))
        else:
            out.append((s, e, IocType.IPV4, addr))


def scan_dotted(t: str, rf: Refanged, out: list[Cand], inside: Spans) -> None:
    search = P.DOT_HIT.search
    hit = search(t, 1)
    while hit is not None:
        p = hit.start()
        tail = P.DOTTED_TAIL.match(t, p)
        e = tail.end() if tail is not None else p + 1
        hit = search(t, e)
        label = P.LABEL_REV.match(t[max(0, p - 255) : p][::-1])
        if label is None:
            continue
        s = p - label.end()
        if s > 0 and (t[s - 1] in "@.-" or _is_word(t[s - 1])):
            continue
        token = t[s:e]
        # fast reject: version numbers, IPs, decimals
        if token[-1].isdigit() and token.replace(".", "").isdigit():
            continue
        if inside.covers(s, e):
            continue
        found = classify_dotted(
            token,
            defanged=rf.defanged(s, e),
            before=t[max(0, s - 40) : s],
            after=t[e : e + 2],
        )
        if found is None:
            continue
        kind, value = found
        prev = t[s - 1 : s]
        if prev == "$":
            continue  # a variable: $data.info
        if prev == "\\":
            kind, value = IocType.FILE_NAME, token  # a path component: \\cousl\\cousl.com
        if kind is IocType.DOMAIN:
            url_end = _url_tail(t, s, e)
            if url_end != -1:
                out.append((s, url_end, IocType.URL, _normalise_url(t[s:url_end])))
                hit = search(t, url_end)
                continue
        out.append((s, e, kind, value))


def _boundary_ok(t: str, s: int, e: int) -> bool:
    return (s == 0 or not _is_word(t[s - 1])) and (e >= len(t) or not _is_word(t[e]))


def _scan_hashes(t: str, out: list[Cand]) -> None:
    for m in P.HEX.finditer(t):
        s, e = m.span()
        kind = _HASH_TYPES.get(e - s)
        if kind is None or not _boundary_ok(t, s, e) or m.group().isdigit():
            continue
        if t[s - 1 : s] == "{" and t[e : e + 1] == "}":
            continue  # a GUID written without dashes: {3F2504E04F8911D39A0C0305E82C3301}
        out.append((s, e, kind, m.group().lower()))


def _scan_ipv6(t: str, out: list[Cand]) -> None:
    last = -1
    for hit in P.IPV6_HIT.finditer(t):
        p = hit.start()
        if p < last:
            continue
        back = P.IPV6_REV.match(t[max(0, p - 39) : p][::-1])
        s = p - (back.end() if back is not None else 0)
        while s < p and t[s] == ":" and s + 1 < len(t) and t[s + 1] != ":":
            s += 1  # "word:" before the address
        if s > 0 and (_is_word(t[s - 1]) or t[s - 1] in ":."):
            last = hit.end()
            continue
        m = P.IPV6.match(t, s)
        if m is None:
            continue
        last = m.end()
        addr, _, prefix = m.group().partition("/")
        if sum(1 for g in addr.split(":") if g) < 2:
            continue
        norm = parse_ipv6(addr)
        if norm is None:
            continue
        if prefix:
            if int(prefix) <= 128:
                out.append((s, m.end(), IocType.CIDR, f"{norm}/{int(prefix)}"))
        else:
            out.append((s, m.end(), IocType.IPV6, norm))


def scan_rest(t: str, out: list[Cand]) -> None:
    _scan_hashes(t, out)
    if "::" in t or t.count(":") > 2:
        _scan_ipv6(t, out)
    cve = P.CVE_ANY_CASE if ("cve" in t or "Cve" in t) else P.CVE
    for m in cve.finditer(t):
        s, e = m.span()
        if _boundary_ok(t, s, e) and t[s - 1 : s] != "-":
            out.append((s, e, IocType.CVE, f"CVE-{m.group(1)}-{m.group(2)}"))
    for m in P.ATTACK.finditer(t):
        s, e = m.span()
        version_like = t[e : e + 1] == "." and t[e + 1 : e + 2].isdigit()
        if _boundary_ok(t, s, e) and t[s - 1 : s] != "." and not version_like:
            out.append((s, e, IocType.ATTACK_TECHNIQUE, m.group()))
    for m in P.ASN.finditer(t):
        s, e = m.span()
        number = int(m.group(1))
        if (
            _boundary_ok(t, s, e)
            and t[s - 1 : s] != "-"
            and 0 < number < 2**32
            and m.group() != "AS400"
        ):
            out.append((s, e, IocType.ASN, f"AS{number}"))
    for m in P.BITCOIN.finditer(t):
        s, e = m.span()
        if _boundary_ok(t, s, e) and is_bitcoin_address(m.group()):
            value = m.group()
            if value[:3].lower() == "bc1":
                value = value.lower()
            out.append((s, e, IocType.BITCOIN, value))
    for m in P.MONERO.finditer(t):
        s, e = m.span()
        if _boundary_ok(t, s, e):
            out.append((s, e, IocType.MONERO, m.group()))
