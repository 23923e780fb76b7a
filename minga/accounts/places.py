"""Where an organisation is and what it does: ISO 3166-1 countries (pycountry's maintained
list) and a controlled vocabulary of critical-infrastructure sectors.

Sector keys are stored; their English labels are message ids translated in the `ops`
catalogs (`minga/web/locale/*/LC_MESSAGES/ops.po`). Common free-text spellings in Spanish,
Portuguese and English are accepted and stored as the key (`gobierno` is `government`).
"""

from __future__ import annotations

import unicodedata

import pycountry

from minga.errors import InvalidInput

# Private-use codes (ISO 3166-1 reserves AA, QM-QZ, XA-XZ, ZZ): never a member's country.
UNKNOWN_COUNTRY = "ZZ"  # kept only for organisations of other nodes that state none
UNKNOWN_SECTOR = "unknown"  # likewise

# Critical-infrastructure sectors (after CISA's 16 and the EU NIS2 annexes), plus public
# administration and "other". Key -> English label (the message id).
SECTORS: dict[str, str] = {
    "government": "Government and public administration",
    "finance": "Banking and financial services",
    "energy": "Energy",
    "health": "Health",
    "telecommunications": "Telecommunications",
    "information-technology": "Information technology and digital services",
    "water": "Water and wastewater",
    "transport": "Transport",
    "education": "Education and research",
    "defence": "Defence",
    "emergency-services": "Emergency services",
    "food-agriculture": "Food and agriculture",
    "manufacturing": "Manufacturing",
    "chemical": "Chemical",
    "commercial-facilities": "Commercial facilities",
    "dams": "Dams",
    "nuclear": "Nuclear",
    "elections": "Elections",
    "other": "Other",
}

ALIASES: dict[str, str] = {
    **{
        name: "government"
        for name in (
            "gobierno",
            "governo",
            "gov",
            "gob",
            "public sector",
            "sector publico",
            "setor publico",
            "administracion publica",
            "administracao publica",
            "public administration",
        )
    },
    **{
        name: "finance"
        for name in (
            "finanzas",
            "financas",
            "financiero",
            "financeiro",
            "financial",
            "financial services",
            "banca",
            "banco",
            "bancos",
            "banking",
            "bank",
            "banks",
            "seguros",
            "insurance",
        )
    },
    **{
        name: "energy"
        for name in (
            "energia",
            "electricidad",
            "eletricidade",
            "electricity",
            "oil and gas",
            "petroleo",
        )
    },
    **{name: "health" for name in ("salud", "saude", "healthcare", "sanidad", "hospitales")},
    **{
        name: "telecommunications"
        for name in (
            "telecomunicaciones",
            "telecomunicacoes",
            "telecom",
            "telecoms",
            "communications",
            "comunicaciones",
            "comunicacoes",
        )
    },
    **{
        name: "information-technology"
        for name in (
            "it",
            "ti",
            "tecnologia",
            "tecnologia de la informacion",
            "tecnologia da informacao",
            "technology",
            "digital",
            "information technology",
        )
    },
    **{name: "water" for name in ("agua", "water and wastewater", "saneamiento", "saneamento")},
    **{name: "transport" for name in ("transporte", "transportation", "logistica", "aviation")},
    **{
        name: "education"
        for name in (
            "educacion",
            "educacao",
            "academia",
            "academic",
            "university",
            "universidad",
            "universidade",
            "research",
            "investigacion",
            "pesquisa",
        )
    },
    **{name: "defence" for name in ("defense", "defensa", "defesa", "military", "militar")},
    **{name: "emergency-services" for name in ("emergencias", "emergencia", "emergency")},
    **{name: "food-agriculture" for name in ("agricultura", "agriculture", "alimentos", "food")},
    **{name: "manufacturing" for name in ("manufactura", "industria", "manufatura", "industry")},
    **{name: "chemical" for name in ("quimica", "quimico", "chemicals")},
    **{name: "elections" for name in ("elecciones", "eleicoes", "electoral")},
    **{name: "other" for name in ("otro", "otros", "outro", "outros")},
}


UNKNOWN_SECTOR_LABEL = "Unknown sector"


def sector_label(key: str) -> str:
    """The English label of a sector key (a message id of the `ops` catalogs), to translate
    where it is shown: `gettext(sector_label(org.sector))`."""
    if key == UNKNOWN_SECTOR:
        return UNKNOWN_SECTOR_LABEL
    return SECTORS.get(key, key)


def _plain(value: str) -> str:
    """Lower case, no accents, single spaces (`Sector Público` -> `sector publico`)."""
    text = unicodedata.normalize("NFKD", value.strip().lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.replace("_", " ").replace("-", " ").split())


def sector_key(value: str) -> str | None:
    """The sector key a value names (a key, its label or a known spelling), else None."""
    plain = _plain(value)
    for key, label in SECTORS.items():
        if plain in (_plain(key), _plain(label)):
            return key
    return ALIASES.get(plain)


def check_sector(value: str) -> str:
    """The sector key of `value`, or InvalidInput naming the choices."""
    key = sector_key(value or "")
    if key is None:
        raise InvalidInput(f"unknown sector {value.strip()!r}: use one of {', '.join(SECTORS)}")
    return key


def is_country(code: str) -> bool:
    return len(code) == 2 and pycountry.countries.get(alpha_2=code.upper()) is not None


def check_country(value: str) -> str:
    """The ISO 3166-1 alpha-2 code of a country, upper case, or InvalidInput with a sentence."""
    code = (value or "").strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise InvalidInput(
            f"country must be an ISO 3166-1 alpha-2 code such as CR or MX, not {value.strip()!r}"
        )
    if not is_country(code):
        raise InvalidInput(
            f"{code} is not an ISO 3166-1 country code (codes such as XX and ZZ are reserved"
            " for private use): give the member's country, such as CR, GT or BR"
        )
    return code


def country_name(code: str) -> str:
    found = pycountry.countries.get(alpha_2=code)
    return str(found.name) if found is not None else code
