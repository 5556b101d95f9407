"""How the DCGAN §4.1.1 hash autoencoder is trained (no torch: the memorization probe's option defaults and
``ganbench dedup`` read it; :mod:`ganbench.builtin.probes.memorization.hashing` trains it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

CROP = 32
CODE_UNITS = 128


@dataclass(frozen=True)
class HashSettings:
    """How the hash autoencoder is trained and how its bits are compared."""

    noise: float = 0.3
    dropout: float = 0.3
    epochs: int = 20
    radius: int = 0
    seed: int = 0
    batch_size: int = 64
    lr: float = 1e-3
    code_units: int = CODE_UNITS

    def describe(self) -> dict:
        return {"method": "dcgan-4.1.1-autoencoder", "crop": CROP, **asdict(self)}
