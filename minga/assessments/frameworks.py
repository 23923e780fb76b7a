"""The two questionnaires, read once from the files shipped in `data/` (see its README).

CMM 2021: dimension > factor > aspect, each aspect assessed at one of five stages. A factor the
source lists without aspects is assessed as a whole: it gets one aspect named after itself.
NIST CSF 2.0: function > category > subcategory, from NIST's OSCAL catalog; the CSF 1.1 items
2.0 withdrew (still in the file) are left out: a category with an empty statement, a
subcategory without implementation examples.
"""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

CMM_SOURCE = (
    "GCSCC Cybersecurity Capacity Maturity Model for Nations (CMM), 2021 Edition, "
    "Global Cyber Security Capacity Centre, University of Oxford"
)
CMM_SOURCE_URL = "https://gcscc.ox.ac.uk/the-cmm"
CSF_SOURCE = "NIST Cybersecurity Framework 2.0 (NIST CSWP 29), OSCAL catalog"
CSF_SOURCE_URL = "https://github.com/usnistgov/oscal-content"
OSCAL = {"o": "http://csrc.nist.gov/ns/oscal/1.0"}


@dataclass(frozen=True, slots=True)
class Stage:
    n: int
    id: str
    names: dict[str, str]  # language -> name
    definition: str

    def name(self, lang: str) -> str:
        return self.names.get(lang, self.names["en"])


@dataclass(frozen=True, slots=True)
class Aspect:
    key: str  # "D1.1.2"; "D2.3.0" for a factor assessed as a whole
    name: str
    factor_id: str


@dataclass(frozen=True, slots=True)
class Factor:
    id: str
    name: str
    aspects: tuple[Aspect, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class Dimension:
    id: str
    name: str
    factors: tuple[Factor, ...]


@dataclass(frozen=True, slots=True)
class Cmm:
    model: str
    edition: str
    publisher: str
    stages: tuple[Stage, ...]
    dimensions: tuple[Dimension, ...]
    verification: dict[str, str]

    @property
    def factors(self) -> list[Factor]:
        return [f for d in self.dimensions for f in d.factors]

    @property
    def aspects(self) -> list[Aspect]:
        return [a for f in self.factors for a in f.aspects]

    def aspect(self, key: str) -> Aspect | None:
        return next((a for a in self.aspects if a.key == key), None)


@cache
def cmm() -> Cmm:
    """The CMM 2021 structure (5 dimensions, 23 factors, their aspects, 5 stages)."""
    text = resources.files("minga.assessments").joinpath("data", "cmm_2021_edition.yaml")
    raw: dict[str, Any] = yaml.safe_load(text.read_text(encoding="utf-8"))
    stages = tuple(
        Stage(
            n=int(s["n"]),
            id=str(s["id"]),
            names={"en": str(s["id"]).capitalize(), "es": s["es"], "pt": s["pt"]},
            definition=str(s["definition"]),
        )
        for s in raw["stages"]
    )
    dimensions = []
    for d in raw["dimensions"]:
        factors = []
        for f in d["factors"]:
            names = list(f.get("aspects") or [])
            if names:
                aspects = tuple(
                    Aspect(f"{f['id']}.{i}", str(n), f["id"]) for i, n in enumerate(names, 1)
                )
            else:
                aspects = (Aspect(f"{f['id']}.0", str(f["name"]), f["id"]),)
            factors.append(Factor(f["id"], str(f["name"]), aspects, str(f.get("note", ""))))
        dimensions.append(Dimension(d["id"], str(d["name"]), tuple(factors)))
    return Cmm(
        model=str(raw["model"]),
        edition=str(raw["edition"]),
        publisher=str(raw["publisher"]),
        stages=stages,
        dimensions=tuple(dimensions),
        verification={k: str(v) for k, v in raw["verification"].items()},
    )


@dataclass(frozen=True, slots=True)
class Subcategory:
    id: str  # "GV.OC-01"
    statement: str
    examples: tuple[str, ...]
    category_id: str


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    title: str
    statement: str
    subcategories: tuple[Subcategory, ...]


@dataclass(frozen=True, slots=True)
class Function:
    id: str
    title: str
    overview: str
    categories: tuple[Category, ...]


@dataclass(frozen=True, slots=True)
class Csf:
    title: str
    version: str
    published: str
    functions: tuple[Function, ...]

    @property
    def subcategories(self) -> list[Subcategory]:
        return [s for f in self.functions for c in f.categories for s in c.subcategories]

    def subcategory(self, sid: str) -> Subcategory | None:
        return next((s for s in self.subcategories if s.id == sid), None)

    def function_of(self, sid: str) -> str:
        return sid.split(".", 1)[0]


# CSF 2.0 implementation tiers (NIST CSWP 29, section 3 and appendix B).
TIERS = {1: "Partial", 2: "Risk Informed", 3: "Repeatable", 4: "Adaptive"}


def _text(node: ET.Element | None) -> str:
    return " ".join("".join(node.itertext()).split()) if node is not None else ""


@cache
def csf() -> Csf:
    """NIST CSF 2.0: 6 functions, 22 categories, 106 subcategories."""
    path = resources.files("minga.assessments").joinpath("data", "NIST_CSF_v2.0_catalog.xml.gz")
    root = ET.fromstring(gzip.decompress(path.read_bytes()))
    meta = root.find("o:metadata", OSCAL)
    functions = []
    for group in root.findall("o:group", OSCAL):
        categories = []
        for cat in group.findall("o:control", OSCAL):
            statement = _text(cat.find("o:part[@name='statement']", OSCAL))
            if not statement:
                continue  # a CSF 1.1 category withdrawn in 2.0
            subs = []
            for sub in cat.findall("o:control", OSCAL):
                examples = tuple(_text(p) for p in sub.findall("o:part[@name='example']", OSCAL))
                if not examples:
                    continue  # a CSF 1.1 subcategory withdrawn in 2.0
                subs.append(
                    Subcategory(
                        id=str(sub.get("id")),
                        statement=_text(sub.find("o:part[@name='statement']", OSCAL)),
                        examples=examples,
                        category_id=str(cat.get("id")),
                    )
                )
            title = _text(cat.find("o:title", OSCAL))
            categories.append(Category(str(cat.get("id")), title, statement, tuple(subs)))
        functions.append(
            Function(
                id=str(group.get("id")),
                title=_text(group.find("o:title", OSCAL)).capitalize(),
                overview=_text(group.find("o:part[@name='overview']", OSCAL)),
                categories=tuple(categories),
            )
        )
    return Csf(
        title=_text(meta.find("o:title", OSCAL) if meta is not None else None),
        version=_text(meta.find("o:version", OSCAL) if meta is not None else None),
        published=_text(meta.find("o:published", OSCAL) if meta is not None else None)[:10],
        functions=tuple(functions),
    )
