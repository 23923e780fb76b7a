"""TAXII 2.1: a server over the node's object store, and a client that pulls remote feeds."""
