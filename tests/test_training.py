"""The core training loop with real models: resume after an interruption, the divergence guard."""

from __future__ import annotations

import json

import pytest
import torch

from ganbench.api.data import Dataset
from ganbench.api.options import resolve_options
from ganbench.plugins import get_registry
from ganbench.jobs.training import Trainer, TrainSettings, set_seed

CPU = torch.device("cpu")
SEED = 7
TINY = {"width": "4", "hidden": "16", "nz": "8", "inlp_max_directions": "4"}


pytestmark = pytest.mark.usefixtures("small_cpu_kernels")


class Interrupted(Exception):
    """Stands in for a crash or a kill in the middle of training."""


def tiny_dataset() -> Dataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (40, 1, 28, 28), dtype=torch.uint8, generator=g)
    y = torch.arange(40) % 10
    return Dataset("noise", x, y, x[:10].clone(), y[:10].clone(), [str(i) for i in range(10)])


def build(name: str, data: Dataset, seed: int = SEED):
    """As the runner does: seed, then build and set up the model."""
    spec = get_registry().get("model", name)
    given = {k: v for k, v in TINY.items() if k in {o.name for o in spec.options}}
    set_seed(seed)
    model = spec.factory(**resolve_options(spec.options, given, name))
    model.setup(data.info(), CPU)
    return model


def trainer(model, data, folder, log=lambda m: None, **settings):
    # 40 images in batches of 8: 5 steps an epoch, so 12 steps cross two epoch boundaries
    defaults = dict(max_steps=12, batch_size=8, checkpoint_every=4)
    return Trainer(model, data, CPU, SEED, TrainSettings(**{**defaults, **settings}), folder, log=log)


def interrupt_after(model, calls: int) -> None:
    """Make the model's train_step raise on call number ``calls + 1``."""
    real_step = model.train_step
    count = {"n": 0}

    def step(batch):
        if count["n"] == calls:
            raise Interrupted()
        count["n"] += 1
        return real_step(batch)

    model.train_step = step


def trainable_models() -> list[str]:
    return [s.name for s in get_registry().all("model") if s.name in ("dcgan", "acgan", "bigan", "ortho")]


@pytest.mark.parametrize("name", trainable_models())
def test_interrupted_run_resumes_to_the_weights_of_an_uninterrupted_one(name, tmp_path):
    data = tiny_dataset()
    straight = build(name, data)
    assert trainer(straight, data, tmp_path / "straight").run().source == "trained"

    broken = build(name, data)
    interrupt_after(broken, 9)  # last checkpoint at step 8
    with pytest.raises(Interrupted):
        trainer(broken, data, tmp_path / "resumed").run()
    assert (tmp_path / "resumed" / "checkpoint.pt").exists()
    assert not (tmp_path / "resumed" / "weights.safetensors").exists()

    torch.manual_seed(12345)  # the restarted process's RNG is not the interrupted one's
    restarted = build(name, data, seed=SEED)
    messages = []
    outcome = trainer(restarted, data, tmp_path / "resumed", log=messages.append).run()
    assert outcome.status == "ok" and outcome.source == "resumed"
    assert any("Resuming training from step 8" in m for m in messages)
    expected, got = straight.state_tensors(), restarted.state_tensors()
    assert expected.keys() == got.keys()
    different = [k for k in expected if not torch.equal(expected[k], got[k])]
    assert not different, f"weights differ after resume: {different[:5]}"
    assert not (tmp_path / "resumed" / "checkpoint.pt").exists()


def poison_after(model, calls: int) -> None:
    """After ``calls`` steps, D's weights turn NaN, so the next losses are NaN."""
    real_step = model.train_step
    count = {"n": 0}

    def step(batch):
        if count["n"] == calls:
            with torch.no_grad():
                for p in model.d.parameters():
                    p.fill_(float("nan"))
        count["n"] += 1
        return real_step(batch)

    model.train_step = step


def test_nan_loss_stops_training_as_diverged_and_is_not_retried(tmp_path):
    data = tiny_dataset()
    model = build("dcgan", data)
    poison_after(model, 3)
    outcome = trainer(model, data, tmp_path).run()
    assert outcome.status == "diverged"
    assert outcome.steps == 3 and "non-finite" in outcome.error
    assert json.loads((tmp_path / "meta.json").read_text())["status"] == "diverged"
    assert not (tmp_path / "weights.safetensors").exists()

    again = build("dcgan", data)
    interrupt_after(again, 0)  # must not train at all
    messages = []
    second = trainer(again, data, tmp_path, log=messages.append).run()
    assert second.status == "diverged" and second.source == "cache"
    assert any("diverged before" in m for m in messages)


def test_saturated_discriminator_stops_training_as_diverged(tmp_path):
    data = tiny_dataset()
    model = build("dcgan", data)
    model.train_step = lambda batch: {"loss_d": 0.0, "loss_g": 20.0, "d_real": 1.0, "d_fake": 0.0}
    outcome = trainer(model, data, tmp_path, saturation_patience=5).run()
    assert outcome.status == "diverged"
    assert outcome.steps == 4 and "saturated" in outcome.error


def test_balanced_discriminator_is_not_called_saturated(tmp_path):
    data = tiny_dataset()
    model = build("dcgan", data)
    model.train_step = lambda batch: {"loss_d": 1.3, "loss_g": 0.7, "d_real": 0.6, "d_fake": 0.4}
    outcome = trainer(model, data, tmp_path, saturation_patience=5).run()
    assert outcome.status == "ok" and outcome.steps == 12


def test_model_raising_diverged_error_ends_the_run_as_diverged_at_that_step(tmp_path):
    """A model's own sanity check (``raise ganbench.DivergedError(message)``) gets the step attached."""
    import ganbench

    data = tiny_dataset()
    model = build("dcgan", data)
    calls = {"n": 0}

    def step(batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise ganbench.DivergedError("critic estimate out of bounds")
        return {"loss_d": 1.3, "loss_g": 0.7}

    model.train_step = step
    outcome = trainer(model, data, tmp_path).run()
    assert outcome.status == "diverged" and outcome.steps == 2
    assert outcome.error == "critic estimate out of bounds at step 2"


class StepClock:
    """A clock that moves 10 s for every training step, in place of ``time.perf_counter``."""

    def __init__(self):
        self.now = 1000.0

    def perf_counter(self) -> float:
        return self.now

    def strftime(self, fmt: str) -> str:
        return "19700101T000000"

    def ticking(self, model) -> None:
        real_step = model.train_step

        def step(batch):
            self.now += 10.0
            return real_step(batch)

        model.train_step = step


def test_a_resumed_training_counts_every_session_in_total_seconds(tmp_path, monkeypatch):
    clock = StepClock()
    monkeypatch.setattr("ganbench.jobs.training.time", clock)
    data = tiny_dataset()
    broken = build("dcgan", data)
    clock.ticking(broken)
    interrupt_after(broken, 9)  # 9 steps run (90 s); the checkpoint at step 8 holds 80 s
    with pytest.raises(Interrupted):
        trainer(broken, data, tmp_path / "run").run()
    restarted = build("dcgan", data)
    clock.ticking(restarted)
    outcome = trainer(restarted, data, tmp_path / "run").run()
    # steps 9-12 in this session: 40 s; the whole training 12 steps, 120 s (the lost step 9 is not counted)
    assert (outcome.source, outcome.seconds, outcome.total_seconds, outcome.resumed_from) == ("resumed", 40.0, 120.0, 8)
    cached = trainer(build("dcgan", data), data, tmp_path / "run").run()
    assert (cached.source, cached.seconds, cached.total_seconds, cached.resumed_from) == ("cache", 0.0, 120.0, None)


def test_total_seconds_of_an_old_entry_are_known_only_for_a_one_session_training():
    from ganbench.jobs.training import _recorded_total_seconds
    assert _recorded_total_seconds({"source": "trained", "seconds": 55.5}) == 55.5
    assert _recorded_total_seconds({"source": "resumed", "seconds": 795.2}) is None  # earlier sessions not recorded
    assert _recorded_total_seconds({"source": "resumed", "seconds": 795.2, "total_seconds": 11000.0}) == 11000.0


def colour_dataset() -> Dataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.arange(40) % 10
    return Dataset("colour-noise", x, y, x[:10].clone(), y[:10].clone(), [str(i) for i in range(10)])


def layouts_seen(name: str, folder) -> tuple[list[tuple[bool, bool]], object]:
    """(batch.x channels_last?, D's weights channels_last?) at each of 3 training steps on colour images."""
    data = colour_dataset()
    model = build(name, data)
    seen, real_step = [], model.train_step

    def step(batch):
        conv = _inner_conv(model)
        seen.append((batch.x.is_contiguous(memory_format=torch.channels_last) and not batch.x.is_contiguous(),
                     conv is not None and conv.weight.is_contiguous(memory_format=torch.channels_last)))
        return real_step(batch)

    model.train_step = step
    trainer(model, data, folder, max_steps=3).run()
    return seen, model


def test_dcgan_trains_channels_last_on_the_cpu_and_hands_back_the_features_layout(tmp_path):
    """The DCGAN family asks for channels_last on the CPU (1.08x, benchmarks/cpu_epoch.py); afterwards its
    modules are plain NCHW again, the layout CPU features were always extracted in."""
    seen, model = layouts_seen("dcgan", tmp_path)
    assert seen == [(True, True)] * 3
    assert _inner_conv(model).weight.is_contiguous()


def test_a_model_that_does_not_ask_trains_in_plain_nchw_on_the_cpu(tmp_path):
    """The plugin guide's promise to third-party models: NCHW batches on the CPU unless they opt in."""
    seen, _ = layouts_seen("bigan", tmp_path)
    assert [x for x, _ in seen] == [False] * 3


def _inner_conv(model) -> torch.nn.Conv2d | None:
    """The model's second conv: its weight has several input channels, so the two layouts differ."""
    convs = [m for module in model.modules().values() for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    return convs[1] if len(convs) > 1 else None


def test_bf16_autocast_sees_weights_updated_inside_its_block():
    """The trainer runs a whole step, optimizer steps included, in one autocast block (on CUDA): a forward
    pass after an in-place update must use the new weights. torch's default weight-cast cache gives the
    old ones (a G step scored by the D of before D's step), so the core's autocast turns it off."""
    from ganbench.system.device import bf16_autocast

    layer = torch.nn.Linear(4, 1)
    x = torch.ones(1, 4)
    with bf16_autocast("cpu"):
        before = layer(x).item()
        with torch.no_grad():
            layer.weight.add_(1.0)
        after = layer(x).item()
    assert after == pytest.approx(before + 4, abs=0.05)
