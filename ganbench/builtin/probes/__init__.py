"""The built-in probes: one package each, its spec (``__init__``, torch-free) beside its implementation."""
