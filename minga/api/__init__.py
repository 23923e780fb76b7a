"""HTTP adapters: thin translations between requests and domain services."""
