"""Tell domains from file names and from code identifiers (``a.b`` tokens)."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from .model import IocType

__all__ = [
    "AMBIGUOUS_EXTENSIONS",
    "FILE_EXTENSIONS",
    "classify_dotted",
    "is_domain",
    "tlds",
]

# File extensions that are *not* top-level domains.
FILE_EXTENSIONS = frozenset(
    """
    exe dll sys drv ocx cpl scr pif msi msp msu bat cmd ps1 psm1 psd1 vbs vbe js jse
    wsf wsh hta lnk url inf reg sct chm hlp jar class apk dex ipa elf bin dat tmp temp log txt
    cfg conf ini xml json yaml yml toml csv tsv htm html xhtml mht mhtml php php3 php5 phtml
    asp aspx ashx asmx jsp jspx cgi cfm doc docx docm dot dotm dotx xls xlsx xlsm xlsb xlt
    xltm xla xlam ppt pptx pptm pps ppsx ppsm potm rtf odt ods odp pdf eml msg pst ost vcf
    rar 7z gz tgz bz2 tbz xz lz lzma tar iso img vhd vhdx vmdk dmg pkg deb rpm ace arj uue
    lzh z jpg jpeg png gif bmp ico svg tif tiff webp mp3 mp4 avi wav wmv flv mkv swf fla
    ttf otf woff woff2 dylib kext plist ko ps1xml pyc pyo pyw pyz rb lua go c cpp h hpp cs vb
    java kt swift sql db sqlite sqlite3 mdb accdb dmp mdmp bak old lck lock key pem crt cer
    der pfx p12 csr pub gpg asc sig ovpn rdp torrent dmp ps2 ts tsx jsx mjs cjs vue wasm
    hwp hwpx jtd iqy slk wll xll gadget appref-ms settingcontent-ms library-ms
    diagcab search-ms theme themepack scf desktopthemepack cdxml config manifest pdb map
    """.split()
)

# File extensions that are also TLDs: ``factura.pl`` and ``invoice.zip`` are read as file
# names unless the context says domain (defanged, www., port/path, "domain ..." before).
AMBIGUOUS_EXTENSIONS = frozenset("zip mov py pl sh rs so ps md pm ai cat cab one app".split())

# First labels of .NET/COM/Java/JS identifiers that look like host names
# (wscript.shell, system.net, System.IO.File, java.io, this.name, ASP.NET ...).
_CODE_ROOTS = frozenset(
    """
    system wscript cscript scripting shell adodb msxml msxml2 msxml3 msxml6 winhttp
    wbemscripting vbscript internetexplorer mmc20 excel word outlook powerpoint schedule
    htmlfile wmplayer shdocvw mscorlib newtonsoft java javax this self document window
    navigator console asp vb ado subprocess os sys
    """.split()
)

# Product names that look like file names.
_NOT_FILES = frozenset(
    """
    node.js vue.js next.js react.js nuxt.js three.js d3.js chart.js angular.js express.js
    ember.js backbone.js moment.js p5.js
    """.split()
)

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
_DOMAIN_CONTEXT = re.compile(
    r"(?i)\b(?:domains?|dominios?|domínios?|hosts?|hostnames?|c2|c&c|cnc|servers?|"
    r"servidor(?:es)?|urls?|sites?|websites?|sitios?|resolves?|connects? to|contacts?|"
    r"beacons? to)\b[^.\n]{0,24}$"
)


@cache
def tlds() -> frozenset[str]:
    """IANA top-level domains (lower case), shipped in ``data/tlds.txt``."""
    text = resources.files(__package__).joinpath("data/tlds.txt").read_text("ascii")
    return frozenset(line.strip() for line in text.splitlines() if line and line[0] != "#")


# Tor onion services are not in the IANA root but are indicators (ransomware leak sites,
# C&C): the label before ".onion" is a v2 (16) or v3 (56 character) base32 address.
_ONION = re.compile(r"[a-z2-7]{16}|[a-z2-7]{56}")
# Namecoin ".bit" names are outside the IANA root too, and malware uses them for C&C (RTM,
# Necurs); in prose "64.bit" is not one, so a bare .bit name needs the same hints as
# invoice.zip (defanged, www., a port or path, or "domain"/"C2" before it).
_ALT_ROOTS = frozenset({"onion", "bit"})


def is_domain(value: str) -> bool:
    """Syntactically valid host name under an IANA TLD, a Tor onion address or a Namecoin
    .bit name (value must be lower case)."""
    if len(value) > 253:
        return False
    labels = value.split(".")
    if len(labels) < 2:
        return False
    if labels[-1] == "onion":
        return _ONION.fullmatch(labels[-2]) is not None and all(
            _LABEL.fullmatch(label) for label in labels[:-2]
        )
    if labels[-1] not in tlds() and labels[-1] != "bit":
        return False
    return all(_LABEL.fullmatch(label) for label in labels)


# The stem of a file name with an ambiguous extension that cannot be a host: an underscore in
# a word of letters and digits (no leading/trailing underscore or hyphen).
_FILE_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*(?:_[A-Za-z0-9-]+)+")


def _looks_like_code(labels: list[str], token: str, before: str) -> bool:
    if labels[0].lower() in _CODE_ROOTS and labels[-1].lower() != "com":
        return True  # wscript.shell, system.net, System.IO.File (but outlook.com is a host)
    # Humans write host names in lower (or all upper) case; System.Net, Foo.Bar.AG are code
    # identifiers or malware detection names - unless the text says a host follows
    # ("C&C: Update.Microsoft-Cdn.Com").
    last = labels[-1]
    odd_case = not (last.islower() or token.isupper())
    return odd_case and _DOMAIN_CONTEXT.search(before) is None


def classify_dotted(
    token: str, *, defanged: bool, before: str, after: str
) -> tuple[IocType, str] | None:
    """Classify a ``label(.label)+`` token as a domain or a file name (or neither).

    ``before``/``after`` are a few characters of context, ``defanged`` tells that the
    token was written defanged (a strong sign of an indicator written on purpose).
    """
    labels = token.split(".")
    ext = labels[-1].lower()
    if ext.isdigit():
        return None
    stem = token[: -len(ext) - 1]
    if after[:1] == "(" and not defanged:
        return None  # a function call: document.write(, subprocess.run(, console.log(
    if ext in FILE_EXTENSIONS:
        if token.lower() in _NOT_FILES or not stem.strip("-_"):
            return None
        return IocType.FILE_NAME, token
    if ext not in tlds() and ext not in _ALT_ROOTS:
        return None
    value = token.lower()
    if not defanged and _looks_like_code(labels, token, before):
        return None
    if (ext in AMBIGUOUS_EXTENSIONS or ext == "bit") and not defanged:
        domain_hint = (
            labels[0].lower() == "www"
            or (after[:1] == ":" and after[1:2].isdigit())
            or (after[:1] == "/" and after[1:2] not in ("", " ", "\n"))
            or _DOMAIN_CONTEXT.search(before) is not None
        )
        if not domain_hint:
            if ext == "bit" or len(stem) < 2:
                return None
            if not is_domain(value):
                # Planilla_Marzo_2025.zip: an underscore is never in a host name, so it is a file.
                return (IocType.FILE_NAME, token) if _FILE_STEM.fullmatch(stem) else None
            return IocType.FILE_NAME, token
    if not is_domain(value):
        return None
    return IocType.DOMAIN, value
