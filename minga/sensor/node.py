"""The sensor's local copy of the indicators its organisation may see on the node: pulled over
TAXII 2.1 from every readable collection, then incrementally (added_after each collection's
X-TAXII-Date-Added-Last), keeping the newest version of each indicator."""

from __future__ import annotations

from typing import Any

from minga.errors import InvalidInput
from minga.intel.stix import tlp_of
from minga.policy import Tlp
from minga.sensor.indicators import load_objects
from minga.sensor.match import IndicatorIndex
from minga.taxii.client import TaxiiClient

TLP_KEY = "x_minga_tlp"
KEPT = ("type", "id", "name", "pattern", "pattern_type", "modified", "revoked", "valid_until")


class NodeIndicators:
    def __init__(self, node_url: str, token: str, timeout: float = 60.0) -> None:
        self.client = TaxiiClient(node_url.rstrip("/") + "/taxii2/", token=token, timeout=timeout)
        self.cursors: dict[str, str | None] = {}
        self.latest: dict[str, dict[str, Any]] = {}

    def close(self) -> None:
        self.client.close()

    def refresh(self) -> int:
        """Pull what was added since the last refresh; how many indicator versions were new.
        Raises minga.taxii.client.RemoteError when the node cannot be used."""
        root = self.client.api_root()
        changed = 0
        for collection in self.client.collections(root):
            if collection.get("can_read") is False or not isinstance(collection.get("id"), str):
                continue
            cid = str(collection["id"])
            for page in self.client.pages(root, cid, added_after=self.cursors.get(cid)):
                for obj in page.objects:
                    if isinstance(obj, dict) and obj.get("type") == "indicator":
                        changed += self._keep(obj)
                if page.date_added_last:
                    self.cursors[cid] = page.date_added_last
        return changed

    def _keep(self, obj: dict[str, Any]) -> int:
        key = str(obj.get("id"))
        known = self.latest.get(key)
        if known is not None and str(known.get("modified", "")) >= str(obj.get("modified", "")):
            return 0
        # only what matching needs is kept (a million full STIX objects would not fit); a
        # revoked newest version takes the indicator out of the index
        kept = {k: obj[k] for k in KEPT if k in obj}
        try:
            kept[TLP_KEY] = (tlp_of(obj) or Tlp.AMBER).value  # for the TLP of its sightings
        except InvalidInput:
            kept[TLP_KEY] = Tlp.RED.value  # contradictory markings: the strictest reading
        self.latest[key] = kept
        return 1

    def tlp(self, indicator: str) -> Tlp:
        """The TLP of the newest version of an indicator held (AMBER when it carries none)."""
        found = self.latest.get(indicator)
        return Tlp(found.get(TLP_KEY, Tlp.AMBER.value)) if found else Tlp.AMBER

    def index(self) -> IndicatorIndex:
        return IndicatorIndex(load_objects(self.latest.values()))
