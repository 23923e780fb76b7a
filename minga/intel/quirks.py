"""Known harmless quirks of widely used STIX producers, repaired with a note instead of refused.

MITRE ATT&CK (v18) ships `x-mitre-data-component` objects whose custom `x_mitre_data_source_ref`
is an empty string (data sources were retired); a `_ref` property must hold an identifier, so the
strict check refuses the object. An empty custom reference says nothing: dropping it loses nothing.
Only custom (`x_`) properties are repaired; an empty standard reference is a real error.
"""

from __future__ import annotations

from typing import Any

EMPTY = ("", None)


def repair(obj: Any) -> tuple[Any, list[str]]:
    """The object with its harmless quirks removed (a copy when anything changed) and a note
    for each repair."""
    if not isinstance(obj, dict):
        return obj, []
    notes: list[str] = []
    fixed: dict[str, Any] | None = None
    for key, value in obj.items():
        if not key.startswith("x_"):
            continue
        if key.endswith("_ref") and value in EMPTY:
            fixed = dict(obj) if fixed is None else fixed
            del fixed[key]
            notes.append(f"dropped the empty custom reference {key}")
        elif key.endswith("_refs") and isinstance(value, list) and any(v in EMPTY for v in value):
            fixed = dict(obj) if fixed is None else fixed
            fixed[key] = [v for v in value if v not in EMPTY]
            notes.append(f"dropped empty identifiers from the custom list {key}")
    return (obj if fixed is None else fixed), notes
