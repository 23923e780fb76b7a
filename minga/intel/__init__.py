"""Intelligence: STIX 2.1 objects, TLP markings, reach and sharing groups."""
