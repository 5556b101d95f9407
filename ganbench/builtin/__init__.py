"""The built-in plugins' registrations: specs, options and CLI commands, without torch.

``ganbench --help`` and ``ganbench list`` load every plugin and call its
``register_*`` hooks, so the modules here import nothing heavy (no torch,
torchvision, faiss, sklearn, pandas): each spec names its implementation as a
``"module:attribute"`` string (``"ganbench.builtin.models.dcgan.model:DCGAN"``) that is
imported only when a model, probe or dataset is built. The implementation
modules (:mod:`ganbench.models`, :mod:`ganbench.probes`,
:mod:`ganbench.datasets`) import their option lists from here.

Third-party plugins can follow the same pattern (docs/plugins.md, "Keep
registration light"); tests/test_fast_start.py keeps it so.
"""
