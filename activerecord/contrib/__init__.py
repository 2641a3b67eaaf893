"""Integrations with other frameworks (optional extras; the core never imports them)."""
