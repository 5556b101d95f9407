"""The plugin API: what a plugin package imports (re-exported by ``import ganbench``).

The hooks (:mod:`.hookspecs`), the specs and their registry (:mod:`.registry`),
declared options (:mod:`.options`), the model and probe protocols
(:mod:`.model`, :mod:`.probe`), the in-memory dataset (:mod:`.data`), label
budgets and validation splits (:mod:`.splits`) and the helpers for plugin
tests (:mod:`.testing`). Nothing here imports any part of ganbench but
:mod:`ganbench.system`.
"""
