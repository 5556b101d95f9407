"""The built-in models: one package each, its spec (``__init__``, torch-free) beside its implementation."""
