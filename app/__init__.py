"""Isthmus gateway application: experience APIs, security, middleware, settings, CLI."""

__version__ = "0.1.0"
