"""Events: every committed change as a row in the outbox, and the consumers that read it
(streams, webhooks, e-mail, watch lists, constituency routing, the NATS relay)."""
