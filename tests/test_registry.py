import pytest

from ganbench.system.errors import RegistryError
from ganbench.api.registry import DatasetSpec, ModelSpec, ProbeSpec, Registry


def make(name):
    return ModelSpec(name, object, f"model {name}")


def test_unknown_name_suggests_the_closest_and_lists_all():
    reg = Registry()
    for name in ("pixels", "random-d", "dcgan"):
        reg.add("model", make(name), "plugin-a")
    with pytest.raises(RegistryError) as err:
        reg.get("model", "pixls")
    assert str(err.value) == "Unknown model 'pixls'. Did you mean 'pixels'? Available: dcgan, pixels, random-d."


def test_unknown_name_without_close_match_has_no_suggestion():
    reg = Registry()
    reg.add("probe", ProbeSpec("knn", object, "k-NN"), "p")
    with pytest.raises(RegistryError, match=r"^Unknown probe 'zzzzzz'\. Available: knn\.$"):
        reg.get("probe", "zzzzzz")


def test_two_plugins_claiming_a_name_are_both_named():
    reg = Registry()
    reg.add("model", make("dcgan"), "ganbench.builtin.models.dcgan.model")
    with pytest.raises(RegistryError) as err:
        reg.add("model", make("dcgan"), "ganbench-mygan")
    assert "'ganbench.builtin.models.dcgan.model' and 'ganbench-mygan'" in str(err.value)


def test_dataset_patterns_match_and_pass_their_argument():
    reg = Registry()
    reg.add("dataset", DatasetSpec("lsun-{category}", object, "LSUN"), "p")
    reg.add("dataset", DatasetSpec("folder:{path}", object, "folders"), "p")
    assert reg.get("dataset", "lsun-bedroom").match("lsun-bedroom") == "bedroom"
    assert reg.get("dataset", "folder:/data/x").match("folder:/data/x") == "/data/x"
    with pytest.raises(RegistryError):
        reg.get("dataset", "lsun")


def test_specs_reject_unknown_capabilities():
    with pytest.raises(ValueError, match="unknown capabilities"):
        ModelSpec("m", object, "m", capabilities={"features", "telepathy"})
    with pytest.raises(ValueError, match="unknown requirements"):
        ProbeSpec("p", object, "p", requires={"sorcery"})
    with pytest.raises(ValueError, match=r"named_in_metric lists unknown options \['kk'\]"):
        ProbeSpec("p", object, "p", named_in_metric=("kk",))


def test_a_model_category_defaults_to_what_the_leaderboard_did_before_and_is_checked():
    """Left out: "gan" with a generator, "generative" without one (as the leaderboard treated such models); a
    declared one is kept; anything else is refused as the plugin loads."""
    assert ModelSpec("g", object, "g", capabilities={"features", "generator"}).category == "gan"
    assert ModelSpec("ae", object, "ae").category == "generative"
    assert ModelSpec("vae", object, "vae", capabilities={"features", "generator"}, category="generative").category == "generative"
    assert ModelSpec("p", object, "p", category="baseline").category == "baseline"
    with pytest.raises(ValueError, match="unknown category 'vae'; expected one of gan, generative, baseline"):
        ModelSpec("m", object, "m", category="vae")


def test_every_builtin_model_declares_its_category():
    from ganbench.plugins import get_registry

    categories = {spec.name: spec.category for spec in get_registry().all("model") if spec.plugin.startswith("builtin")}
    assert categories == {"dcgan": "gan", "acgan": "gan", "bigan": "gan", "ortho": "gan", "pixels": "baseline",
                          "random-d": "baseline", "kmeans": "baseline", "features": "baseline"}
