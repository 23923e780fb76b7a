"""Federation: node identity and keys, peers, signed provenance, push/pull sync, recall."""
