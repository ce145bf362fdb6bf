"""The verification rules of the built-in scenario kinds, independent of the code they check:
nothing here imports a component, a loop or a kind. ``engine.verify`` loads these modules
(and outside plugins' rules) through ``tracegrad_register_trace_checks``."""
