"""Reference knowledge the node loads for everyone: MITRE ATT&CK, CISA KEV, MISP taxonomies."""
