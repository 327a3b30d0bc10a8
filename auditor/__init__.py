"""auditor: find what still blocks dropping legacy PostgreSQL compatibility views."""

__version__ = "0.1.0"
