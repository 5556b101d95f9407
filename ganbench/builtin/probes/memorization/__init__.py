"""Registration of the ``memorization`` probe (implementation: :mod:`ganbench.builtin.probes.memorization.probe`;
its ``ganbench dedup`` command registers itself from :mod:`ganbench.builtin.probes.memorization.dedup`)."""

from __future__ import annotations

from ganbench import hookimpl
from ganbench.api.options import Option
from ganbench.builtin.probes.memorization.hash_settings import HashSettings
from ganbench.api.registry import ProbeSpec

OPTIONS = [
    Option("samples", "int", 10000, "generated samples compared, and as many held-out test images (at most the split)",
           minimum=2),
    Option("hash_epochs", "int", HashSettings.epochs, "epochs of hash-autoencoder training", minimum=1),
    Option("hash_noise", "float", HashSettings.noise, "std of the Gaussian input corruption (pixels in [0, 1])",
           minimum=0.0, maximum=10.0),
    Option("hash_dropout", "float", HashSettings.dropout, "dropout on the code while training", minimum=0.0,
           maximum=1.0, exclusive_maximum=True),
    Option("hash_radius", "int", 0, "hashes this many bits apart count as equal (0 = the paper's rule)", minimum=0),
    Option("ct_cells", "int", 50, "k-means cells of the data-copying test", minimum=1),
    Option("ct_tau", "int", 20, "a cell enters C_T when more generated samples than this fall in it", minimum=0),
    Option("grid", "int", 32, "samples shown beside their nearest training images (0 = no picture)", minimum=0),
]


@hookimpl
def register_probes(register):
    register(ProbeSpec(
        "memorization", "ganbench.builtin.probes.memorization.probe:MemorizationProbe",
        "Is the generator copying? DCGAN hash collisions, nearest-neighbour distance ratios, data-copying test C_T",
        version="2", options=OPTIONS, requires={"generator"},
        headline=("copying_ct", "nn_ratio_pixels", "hash_collision_fraction"),
        metrics=("hash_train_duplicate_fraction", "hash_collision_fraction", "nn_ratio_pixels", "nn_ratio_ae_code",
                 "copying_ct"),
        # fractions; distance ratios (never negative); C_T is a z-score, unbounded
        ranges={"hash_*_fraction": (0.0, 1.0), "nn_ratio_*": (0.0, None)}))

