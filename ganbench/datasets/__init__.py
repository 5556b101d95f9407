"""Opening datasets: by name through the registry (:mod:`.open`), the cache of decoded tensors
(:mod:`.cache`), where files are looked for (:mod:`.roots`: ``--data-root``, ``GANBENCH_DATA``,
the user data folder), downloads (:mod:`.download`) and the file formats the loaders share
(:mod:`.idx`, :mod:`.images`).

The toolkit of every dataset plugin, built-in or not; the built-in datasets themselves are in
:mod:`ganbench.builtin.datasets`.
"""
