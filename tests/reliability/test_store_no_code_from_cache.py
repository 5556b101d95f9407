"""No file in the cache can run code: a crafted pickle in checkpoint.pt, an object array in a feature .npy."""

import os
import pickle

import numpy as np
import torch

from ganbench.jobs.run import FeatureSource
from ganbench.jobs.training import Trainer, TrainSettings

from .toy_plugins import ToyModel, toy_data

CPU = torch.device("cpu")


class Payload:
    """Unpickling this creates the file ``marker``: the proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_pickle_in_checkpoint_pt_is_never_run(tmp_path):
    marker = tmp_path / "pwned"
    folder = tmp_path / "model"
    folder.mkdir()
    with open(folder / "checkpoint.pt", "wb") as f:
        pickle.dump({"step": 1, "state": Payload(marker)}, f)
    data = toy_data()
    trainer = Trainer(ToyModel(fail="no"), data, CPU, 0, TrainSettings(max_steps=1, batch_size=4), folder)
    try:
        trainer._resume()  # refusing the file, or setting it aside to train anew, are both fine
    except Exception as exc:
        assert "Weights only load failed" in str(exc) or "pickle" in str(exc).lower(), exc
    assert not marker.exists()


def test_an_object_array_in_the_feature_cache_is_never_run(tmp_path):
    marker = tmp_path / "pwned"
    cache = tmp_path / "features"
    cache.mkdir()
    np.save(cache / "d-test.npy", np.array([Payload(marker)], dtype=object), allow_pickle=True)
    data = toy_data()
    source = FeatureSource(model=None, dataset=data, device=torch.device("cpu"), cache=cache)
    try:
        source.split("test", "d")
    except Exception:
        pass  # refusing the file is the guarantee; rebuilding it (here without a model) may fail
    assert not marker.exists()
    assert pickle.loads(pickle.dumps(Payload(marker))) == 0 and marker.exists()  # the payload does run when unpickled
