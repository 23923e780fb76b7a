"""Public advisories: alerts a CSIRT publishes to people without an account, as pages, RSS and
Atom feeds and CSAF 2.0 documents, and awareness campaigns that group them."""
