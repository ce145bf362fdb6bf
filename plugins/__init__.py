"""Tracegrad's built-in components, one module per kind, each an ordinary pluggy plugin
registered exactly like a third-party one (see ``engine.plugins.BUILTIN_PLUGINS``)."""
