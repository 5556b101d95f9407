"""Built-in dataset plugins, each registered through ``register_datasets`` like any plugin.

- :mod:`.mnist` -- ``mnist-5k`` (embedded) and ``mnist`` (IDX files)
- :mod:`.fashion_mnist` -- ``fashion-mnist`` (IDX files; also Debian's copy)
- :mod:`.cifar10` -- ``cifar10`` (official binary or python batches)
- :mod:`.svhn` -- ``svhn`` (official cropped-digit ``.mat`` files)
- :mod:`.lsun` -- ``lsun-<category>`` (official LMDB databases)
- :mod:`.folder` -- ``folder:<path>`` (``train/<class>/*`` and ``test/<class>/*`` images)
- :mod:`.commands` -- ``ganbench data list | check | download``

Where files are looked for (``--data-root``, ``GANBENCH_DATA``, the user data
folder, and the layout under it) is documented in :mod:`.roots`; the cache of
decoded tensors in :mod:`.cache`. Every missing or damaged file raises a
one-line :class:`ganbench.errors.DataError`.
"""
