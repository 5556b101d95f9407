"""The built-in datasets, each registered through ``register_datasets`` like any plugin.

- :mod:`.mnist` -- ``mnist-5k`` (embedded) and ``mnist`` (IDX files)
- :mod:`.fashion_mnist` -- ``fashion-mnist`` (IDX files; also Debian's copy)
- :mod:`.cifar10` -- ``cifar10`` (official binary or python batches)
- :mod:`.svhn` -- ``svhn`` (official cropped-digit ``.mat`` files)
- :mod:`.lsun` -- ``lsun-<category>`` (official LMDB databases)
- :mod:`.folder` -- ``folder:<path>`` (``train/<class>/*`` and ``test/<class>/*`` images)

Each is a package: its spec in ``__init__`` (torch-free), its loader in ``loader.py``.
Every missing or damaged file raises a one-line :class:`ganbench.system.errors.DataError`.
"""
