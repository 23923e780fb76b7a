"""Free-text reports: text, language, title and the candidate indicators an analyst reviews."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePath

from minga.errors import InvalidInput
from minga.extract import ReportError, ReportText, extract_iocs, read_report, unique

MAX_ITEMS = 5000  # candidates kept per draft; a longer list is not reviewable anyway
# Indicators are looked for in the first 2 million characters (a 600-page report): extraction
# takes up to ~4 s per million characters of dense indicators, so this bounds a request.
MAX_TEXT_CHARS = 2_000_000
EXCERPT_CHARS = 2000
SENTENCE_CHARS = 500

# Frequent words that tell the three languages apart (shared ones such as "de", "a" are left out).
STOP_WORDS = {
    "es": frozenset(
        "el la los las del y en que por con para una es se al lo como más pero sus fue este "
        "esta también entre cuando muy sin sobre ya hay donde desde todo nos durante uno ni "
        "contra ese eso otros ante ellos está han".split()
    ),
    "pt": frozenset(
        "o os as do da dos das e em que por com para uma é se ao como mais mas seus foi este "
        "esta também entre quando muito sem sobre já há onde desde todo nos durante um nem "
        "contra esse isso outros ante eles está não são pelo pela".split()
    ),
    "en": frozenset(
        "the of and to in is that for it as was with be by on not this are from at or an "
        "have has which but were been their its also into than these other more can".split()
    ),
}
WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)
# "TLP:AMBER", "TLP: AMBER+STRICT", "TLP:WHITE" (TLP 1.0, read as CLEAR) in the report's text.
TLP_RE = re.compile(r"\bTLP\s*:\s*(CLEAR|WHITE|GREEN|AMBER\s*\+\s*STRICT|AMBER|RED)\b", re.I)
TLP_SCAN_CHARS = 20_000  # the marking is stated on the first pages (or in their headers)
SUMMARY_CHARS = 1500
# Headings under which a report gives its own summary (es, pt, en).
SUMMARY_HEADINGS = re.compile(
    r"^\W*(?:\d+[.)]?\s*)?(resumen(?: ejecutivo)?|s[ií]ntesis|resumo(?: executivo)?|"
    r"sum[aá]rio(?: executivo)?|executive summary|summary|abstract|overview)\W*$",
    re.I,
)
# The sentence that says where a published report's indicators came from, in its language.
SOURCE_LINE = {
    "es": "Indicadores revisados del informe «%(source)s».",
    "pt": "Indicadores revisados do relatório «%(source)s».",
    "en": "Indicators reviewed from the report file «%(source)s».",
}


@dataclass(frozen=True, slots=True)
class Candidate:
    type: str
    value: str
    raw: str
    sentence: str
    start: int
    end: int
    benign: bool


@dataclass(frozen=True, slots=True)
class Limit:
    """A reading limit that cut the report: the reviewer must know what was not read."""

    code: str  # one of LIMIT_MESSAGES
    read: int  # PDF pages read / characters searched / indicators kept
    total: int | None  # characters in the text / indicators found (None: PDF pages unknown)

    @property
    def message(self) -> str:
        return LIMIT_MESSAGES[self.code] % {"read": self.read, "total": self.total}


# English sentences (the web UI has them in its catalogs, with the same placeholders).
LIMIT_MESSAGES = {
    "pdf_pages": (
        "Only the first %(read)s pages of the PDF were read"
        " (page or time budget reached, or a damaged page)."
    ),
    "text_chars": "Indicators were looked for in the first %(read)s of %(total)s characters.",
    "items": "Only the first %(read)s of the %(total)s indicators found are listed.",
}


def read_text(data: bytes, filename: str | None, content_type: str | None) -> ReportText:
    try:
        report = read_report(data, filename, content_type)
    except ReportError as exc:
        raise InvalidInput(exc.message) from None
    if not report.text.strip():
        raise InvalidInput("the report has no text to read indicators from")
    return report


def guess_language(text: str, sample_chars: int = 200_000) -> str:
    """es, pt or en by stop-word counts; '' when none of them is clearly present."""
    counts: Counter[str] = Counter()
    for word in WORD_RE.findall(text[:sample_chars].lower()):
        for lang, words in STOP_WORDS.items():
            if word in words:
                counts[lang] += 1
    if not counts:
        return ""
    (best, n), *rest = counts.most_common()
    return best if not rest or n > rest[0][1] else ""


def tlp_hint(text: str) -> str | None:
    """The TLP the report states of itself ("TLP:AMBER" on its cover or headers), as a
    `minga.policy.Tlp` value; None when it states none or several different ones."""
    found = {
        " ".join(m.group(1).lower().split()).replace(" ", "")
        for m in TLP_RE.finditer(text[:TLP_SCAN_CHARS])
    }
    found = {"clear" if f == "white" else f for f in found}
    return found.pop() if len(found) == 1 else None


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n[ \t]*\n", text) if p.strip()]


def summary_of(text: str, title: str = "") -> str:
    """The report's own summary: the paragraphs under a "Resumen"/"Resumo"/"Summary" heading,
    else its first paragraph of prose after the title; '' when there is none."""
    lines = text[:100_000].splitlines()
    for n, line in enumerate(lines):
        if SUMMARY_HEADINGS.match(line.strip().lstrip("#").strip()):
            body = "\n".join(lines[n + 1 : n + 60]).strip()
            taken = ""
            for raw in re.split(r"\n[ \t]*\n", body):
                first = raw.strip().split("\n", 1)[0].strip()
                if not first:
                    continue
                if SUMMARY_HEADINGS.match(first) or (taken and _heading_like(first)):
                    break  # the next section starts
                part = " ".join(raw.split())
                taken = f"{taken}\n\n{part}" if taken else part
                if len(taken) >= SUMMARY_CHARS // 2:
                    break
            if taken:
                return _cut(taken)
    for part in _paragraphs(text[:20_000]):
        if part == title or _heading_like(part) or TLP_RE.fullmatch(part.strip()):
            continue
        if len(part) >= 80 and re.search(r"[.!?]", part):
            return _cut(part)
    return ""


def _heading_like(part: str) -> bool:
    return len(part) <= 80 and not re.search(r"[.!?:]\s*$", part)


def _cut(text: str) -> str:
    if len(text) <= SUMMARY_CHARS:
        return text
    cut = text[:SUMMARY_CHARS]
    end = max(cut.rfind(". "), cut.rfind(".\n"))
    return cut[: end + 1] if end > SUMMARY_CHARS // 2 else cut.rstrip() + "…"


def description_of(summary: str, language: str, source: str) -> str:
    """A published report's description: its own summary, then where the indicators came
    from, written in the report's language (es, pt; English otherwise)."""
    line = SOURCE_LINE.get(language, SOURCE_LINE["en"]) % {"source": source}
    return f"{summary}\n\n{line}" if summary else line


def title_of(text: str, filename: str | None) -> str:
    """The first short line of the text (a report's title), else the file name."""
    for line in text.splitlines()[:20]:
        line = line.strip().lstrip("#=").strip()  # Markdown or AsciiDoc heading
        if TLP_RE.fullmatch(line):
            continue  # the marking line on a cover is not its title
        if 3 <= len(line) <= 200:
            return line
    if filename:
        return PurePath(filename).stem[:200] or filename[:200]
    return "Untitled report"


def candidates(report: ReportText) -> tuple[list[Candidate], list[Limit]]:
    """Every distinct indicator in the text, first occurrence first, benign ones flagged;
    and the limits that cut the reading (PDF budget, characters searched, list length)."""
    text = report.text
    limits: list[Limit] = []
    if report.pdf_pages_read is not None:
        limits.append(Limit("pdf_pages", report.pdf_pages_read, None))
    total = report.chars_total or len(text)
    if total > MAX_TEXT_CHARS:
        limits.append(Limit("text_chars", MAX_TEXT_CHARS, total))
    found = unique(extract_iocs(text[:MAX_TEXT_CHARS], include_benign=True))
    if len(found) > MAX_ITEMS:
        limits.append(Limit("items", MAX_ITEMS, len(found)))
    listed = [
        Candidate(
            i.type.value, i.value, i.raw, i.sentence[:SENTENCE_CHARS], i.start, i.end, i.benign
        )
        for i in found[:MAX_ITEMS]
    ]
    return listed, limits
