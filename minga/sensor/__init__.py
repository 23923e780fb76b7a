"""The Minga sensor: a process a member runs beside its own logs (Zeek, Suricata, NetFlow, syslog)
that matches them against the indicators its organisation may see. Readers turn log files into
columnar batches (`readers/`); `match.py` matches whole columns against an in-memory index."""
