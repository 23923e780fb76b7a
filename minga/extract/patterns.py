"""Compiled regular expressions of the extractor.

Speed: CPython's ``re`` costs tens of nanoseconds for every position where a match is
attempted, so a pattern that may start on any letter is slow over megabytes of prose.
Each scanning pattern here therefore starts with a literal or a class of rare characters
(``://``, ``@``, ``.``, digits, ``T1``, back-slash...) that the engine finds at C speed;
token boundaries are checked right after the first character or in Python.

Safety: every repetition is possessive (``++``, ``{m,n}+``) or bounded and alternatives
are disjoint, so matching is linear in the input length (no catastrophic backtracking).
"""

from __future__ import annotations

import re

__all__ = [
    "ASN",
    "ATTACK",
    "BITCOIN",
    "CVE",
    "CVE_ANY_CASE",
    "DLL_ENTRY",
    "DOTTED_TAIL",
    "DOT_HIT",
    "EMAIL_DOMAIN",
    "EMAIL_LOCAL_REV",
    "HEX",
    "IPV4",
    "IPV6",
    "IPV6_HIT",
    "IPV6_REV",
    "LABEL_REV",
    "MONERO",
    "REGISTRY",
    "SCHEME_REV",
    "UNIX_PATH",
    "URL_BODY",
    "URL_JOIN",
    "URL_PLACEHOLDER",
    "URL_TAIL",
    "VERSION_BEFORE",
    "WIN_ANCHOR",
    "WIN_PATH",
]

# Characters that end a URL: white space, quotes, angle brackets, Markdown table pipes,
# back-ticks, back-slashes and brackets (refanging already removed the [.] forms).
_URL_CHARS = r"[^\s<>\"'`|\\^{}\[\]]"
URL_BODY = re.compile(rf"{_URL_CHARS}++")
# Scheme read backwards from "://" (on the reversed 16 characters before it).
SCHEME_REV = re.compile(
    r"(?:sptth|ptth|sptf|ptf|ptfs|ptft|ssw|sw|bms|spadl|padl|pdr|hss|tenlet|cri|pct|pdu|tig)"
    r"(?![\w.-]|\+[\w.-])",
    re.IGNORECASE,
)
# Path (and optional port) that turns a host into a scheme-less URL: evil.com/gate.php
URL_TAIL = re.compile(rf"(?::\d{{1,5}}+)?/{_URL_CHARS}*+")
# A placeholder in a URL path or query, as reports write them: /[random].php, ?id={ID},
# /<MAC address>/log
URL_PLACEHOLDER = re.compile(
    r"\[[^\s\[\]{}<>\"'`|\\]{1,64}+\]|\{[^\s\[\]{}<>\"'`|\\]{1,64}+\}|<\w[\w .-]{0,39}+>"
)
# Two URLs run together by a list separator: http://a/x,http://b/y
URL_JOIN = re.compile(r"[,;](?=[A-Za-z][A-Za-z0-9+.-]{1,9}://)")

# E-mail: local part read backwards from the '@', domain forwards.
EMAIL_LOCAL_REV = re.compile(r"[\w+%-](?:[\w.+%-]{0,63}+)")
EMAIL_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]++|\.(?=[A-Za-z0-9]))++")

# Domains and file names: found from their first inner dot.
DOT_HIT = re.compile(r"\.(?=[\w-])")
LABEL_REV = re.compile(r"[\w-]{1,255}+")
DOTTED_TAIL = re.compile(r"(?:\.[\w-]++)++")

IPV4 = re.compile(r"[0-9][0-9]{0,2}+\.[0-9]{1,3}+\.[0-9]{1,3}+\.[0-9]{1,3}+(?:/[0-9]{1,2}+)?")
IPV6_HIT = re.compile(r":(?:[0-9A-Fa-f]{1,4}+)?:")
IPV6_REV = re.compile(r"[0-9A-Fa-f:]{0,39}+")
IPV6 = re.compile(
    r"(?:[0-9A-Fa-f]{0,4}+:){2,7}+(?:\d{1,3}+(?:\.\d{1,3}+){3}|[0-9A-Fa-f]{1,4}+)?"
    r"(?:/\d{1,3}+)?(?![\w:]|\.\w)"
)
# "version 10.0.0.1", "versión 2.4.1.3", "v. 1.2.3.4", "build 6.1.7601.1"
VERSION_BEFORE = re.compile(
    r"(?i)(?:\bversions?|\bversi[oóò]n(?:es)?|\bvers[aã]o|\bvers[õo]es|\bver\.?|\bv\.?|"
    r"\bbuild|\brelease|\brev(?:ision)?\.?|\bfirmware|\bupdate|\bpatch|\bkb)\s*[:#]?\s*$"
)

HEX = re.compile(r"[0-9A-Fa-f][0-9A-Fa-f]{31,127}+")

CVE = re.compile(r"CVE[-_ ]?+([0-9]{4})[-_ ]([0-9]{4,7}+)")
CVE_ANY_CASE = re.compile(r"[Cc][Vv][Ee][-_ ]?+([0-9]{4})[-_ ]([0-9]{4,7}+)")
ATTACK = re.compile(r"T1\d{3}(?:\.\d{3})?")
ASN = re.compile(r"AS(?:N[ :]?+| )?+(\d{1,10}+)")

BITCOIN = re.compile(
    r"[13bB](?:(?<=[13])[1-9A-HJ-NP-Za-km-z]{25,34}+|(?<=b)c1[02-9ac-hj-np-z]{11,71}+"
    r"|(?<=B)C1[02-9AC-HJ-NP-Z]{11,71}+)"
)
MONERO = re.compile(r"[48][0-9AB][1-9A-HJ-NP-Za-km-z]{93}+(?:[1-9A-HJ-NP-Za-km-z]{11})?")

# One path component: no separators or characters Windows forbids; words separated by
# single spaces are allowed only if a back-slash follows ("Program Files (x86)\").
_SEG = r"[^\\/\s<>:\"|?*`'&]++"
_WORD = r"[^\\/\s<>:\"|?*`'.%]++"
_COMP = rf"(?:{_WORD}(?: {_WORD}){{1,3}}(?=\\)|{_SEG})"
# A back-slash after ':' (drive), '%' (environment variable) or '\' (UNC)
WIN_ANCHOR = re.compile(r"\\(?<=[:%\\]\\)")
WIN_PATH = re.compile(
    r"(?:[A-Za-z]:\\{1,2}+|\\\\[\w.$-]++\\|%[A-Za-z_][\w()]{0,40}+%\\{1,2}+|\$env:\w++\\)"
    rf"(?:{_COMP}\\{{1,2}}+)*+{_COMP}?"
)
# ",Export" after a program or library in a path: rundll32's "evil.dll,DllRegisterServer"
DLL_ENTRY = re.compile(r"(?i)(?<=\.dll|\.exe|\.ocx|\.cpl),#?\w++$")
UNIX_PATH = re.compile(
    r"[/~](?<![\w.~/:\\-][/~])(?:(?<=~)|(?:etc|usr|var|tmp|home|bin|sbin|opt|dev|proc|lib|"
    r"lib32|lib64|root|Library|Users|Applications|System|private|mnt|srv|boot|run|sys|"
    r"Volumes|data|sdcard|storage)(?=/))(?:/[\w.+@~%$=,-]++)++/?+"
)
_REG_SEG = r"[^\\\s<>\"|`=:']++"
# Words of a key name with spaces ("Windows NT\"); no brackets, so that two keys written
# "[HKLM\A] or [HKLM\B]" (.reg style) stay two keys.
_REG_WORD = r"[^\\\s<>\"|`=:'\[\]]++"
_REG_COMP = rf"(?:{_REG_WORD}(?: {_REG_WORD}){{1,3}}(?=\\)|{_REG_SEG})"
REGISTRY = re.compile(
    r"[Hh](?<![\w\\][Hh])(?i:KEY_(?:LOCAL_MACHINE|CURRENT_USER|CLASSES_ROOT|USERS|"
    r"CURRENT_CONFIG)|K(?:LM|CU|CR|U|CC)):?+"
    rf"(?:\\{{1,2}}+{_REG_COMP})++"
)
