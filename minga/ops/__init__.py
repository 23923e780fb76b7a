"""Operating a node: exit codes, backup and restore, `minga check`, metrics and logs."""
