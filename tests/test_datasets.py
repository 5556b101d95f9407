"""Dataset readers: tiny files written in each real format, read back exactly; every damage case.

Each writer below produces the official on-disk format (IDX, CIFAR-10 binary
and python batches, SVHN MATLAB v5 .mat, LSUN LMDB with encoded images, PNG
folders) so the readers are exercised on the bytes users have, not on mocks.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import pickle
import struct
from pathlib import Path

import lmdb
import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image

from ganbench.system.errors import DataError
from ganbench.builtin.datasets.cifar10 import loader as cifar10
from ganbench.builtin.datasets.fashion_mnist import loader as fashion_mnist
from ganbench.builtin.datasets.folder import loader as folder
from ganbench.builtin.datasets import idx_datasets
from ganbench.builtin.datasets.lsun import loader as lsun
from ganbench.builtin.datasets.mnist import loader as mnist
from ganbench.builtin.datasets.svhn import loader as svhn
from ganbench.datasets.roots import resolve_data_root

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real data root, cache or Debian folder leaks into a test."""
    monkeypatch.delenv("GANBENCH_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    debian = dataclasses.replace(fashion_mnist.FASHION_MNIST, system_folders=(str(tmp_path / "debian"),))
    monkeypatch.setattr(fashion_mnist, "FASHION_MNIST", debian)


def one_line(exc_info) -> str:
    message = str(exc_info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- IDX (MNIST, Fashion-MNIST)

def idx_bytes(array: np.ndarray) -> bytes:
    magic = 2051 if array.ndim == 3 else 2049
    return struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()


def write_idx_set(folder: Path, gz: bool, n_train=7, n_test=3) -> dict[str, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": RNG.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": RNG.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": RNG.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": RNG.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, array in arrays.items():
        data = idx_bytes(array)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_idx_files_read_back_exactly(tmp_path, gz):
    arrays = write_idx_set(tmp_path / "root" / "mnist", gz)
    ds = mnist.load_mnist(tmp_path / "root")
    assert ds.train_x.shape == (7, 1, 28, 28) and ds.test_x.shape == (3, 1, 28, 28)
    assert np.array_equal(ds.train_x[:, 0].numpy(), arrays["train-images-idx3-ubyte"])
    assert np.array_equal(ds.test_x[:, 0].numpy(), arrays["t10k-images-idx3-ubyte"])
    assert ds.train_y.tolist() == arrays["train-labels-idx1-ubyte"].tolist()
    assert ds.test_y.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    assert ds.source == str(tmp_path / "root" / "mnist")


def test_idx_heldout_test_split_is_a_fixed_part_of_the_training_images(tmp_path):
    arrays = write_idx_set(tmp_path / "root" / "mnist", gz=True, n_train=20)
    images, labels = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]
    ds = mnist.load_mnist(tmp_path / "root", test="heldout", heldout=6)
    assert ds.train_x.shape == (14, 1, 28, 28) and ds.test_x.shape == (6, 1, 28, 28)
    held = np.sort(np.random.default_rng(0).permutation(20)[:6])  # the documented seeded permutation
    kept = np.setdiff1d(np.arange(20), held)
    assert np.array_equal(ds.test_x[:, 0].numpy(), images[held]) and ds.test_y.tolist() == labels[held].tolist()
    assert np.array_equal(ds.train_x[:, 0].numpy(), images[kept]) and ds.train_y.tolist() == labels[kept].tolist()
    assert ds.notes["test_split"] == "heldout" and ds.notes["heldout"] == 6
    again = mnist.load_mnist(tmp_path / "root", test="heldout", heldout=6)
    assert again.fingerprint == ds.fingerprint != mnist.load_mnist(tmp_path / "root").fingerprint
    with pytest.raises(DataError) as exc:
        mnist.load_mnist(tmp_path / "root", test="heldout", heldout=20)
    assert "heldout=20 must be below its 20 training images" in one_line(exc)


def test_idx_found_in_torchvision_layout_and_root_itself(tmp_path, monkeypatch):
    write_idx_set(tmp_path / "tv" / "FashionMNIST" / "raw", gz=True)
    assert fashion_mnist.load_fashion_mnist(tmp_path / "tv").source.endswith("FashionMNIST/raw")
    write_idx_set(tmp_path / "flat", gz=False)
    monkeypatch.setenv("GANBENCH_DATA", str(tmp_path / "flat"))  # root from the environment
    assert mnist.load_mnist(None).source == str(tmp_path / "flat")


def test_fashion_mnist_found_where_debian_installs_it(tmp_path):
    arrays = write_idx_set(tmp_path / "debian", gz=True)
    ds = fashion_mnist.load_fashion_mnist(None)
    assert ds.source == str(tmp_path / "debian")
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"
    assert ds.train_y.tolist() == arrays["train-labels-idx1-ubyte"].tolist()


def test_root_holding_mnist_is_not_read_as_fashion_mnist(tmp_path, monkeypatch):
    arrays = write_idx_set(tmp_path / "root", gz=True)
    digest = hashlib.sha256(idx_bytes(arrays["train-labels-idx1-ubyte"])).hexdigest()
    monkeypatch.setitem(idx_datasets.KNOWN_TRAIN_LABELS, "mnist", digest)
    assert mnist.load_mnist(tmp_path / "root").notes["official_train_labels"] is True
    with pytest.raises(DataError) as exc:
        fashion_mnist.load_fashion_mnist(tmp_path / "root")
    assert f"{tmp_path / 'root'} holds mnist, not fashion-mnist" in one_line(exc)


def test_idx_missing_names_files_places_and_how_to_get(tmp_path):
    with pytest.raises(DataError) as exc:
        mnist.load_mnist(tmp_path / "empty")
    message = one_line(exc)
    empty = tmp_path / "empty"
    assert f"in {empty / 'mnist'}, {empty / 'MNIST' / 'raw'}, {empty}. " in message
    assert "t10k-labels-idx1-ubyte.gz" in message and "ganbench data download mnist" in message


def test_idx_incomplete_names_the_missing_file(tmp_path):
    write_idx_set(tmp_path / "mnist", gz=True)
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as exc:
        mnist.load_mnist(tmp_path)
    assert "missing t10k-labels-idx1-ubyte or t10k-labels-idx1-ubyte.gz" in one_line(exc)


@pytest.mark.parametrize("damage, expected", [
    (lambda b: struct.pack(">I", 1234) + b[4:], "not an IDX images file (magic number 1234, expected 2051)"),
    (lambda b: b[:-100], "wrong length for IDX images"),
    (lambda b: b[:10], "truncated IDX images file (10 bytes, the header alone is 16)"),
    (lambda b: b"\x1f\x8b" + b"garbage" * 5, "cannot be read as gzip"),
])
def test_idx_damage_names_file_and_fault(tmp_path, damage, expected):
    write_idx_set(tmp_path / "mnist", gz=True)
    path = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    damaged = damage(raw)
    path.write_bytes(damaged if damaged.startswith(b"\x1f\x8b") else gzip.compress(damaged))
    with pytest.raises(DataError) as exc:
        mnist.load_mnist(tmp_path)
    message = one_line(exc)
    assert str(path) in message and expected in message


# ---------------------------------------------------------------- CIFAR-10

def cifar_content(n_per_batch=(2, 3, 1, 2, 2), n_test=3):
    names = cifar10.TRAIN_BATCHES + cifar10.TEST_BATCHES
    sizes = list(n_per_batch) + [n_test]
    return {name: (RNG.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8), RNG.integers(0, 10, n, dtype=np.uint8))
            for name, n in zip(names, sizes)}


def write_cifar_bin(folder: Path, content) -> None:
    folder.mkdir(parents=True)
    for name, (images, labels) in content.items():
        records = np.concatenate([labels[:, None], images.reshape(len(images), -1)], axis=1)
        (folder / f"{name}.bin").write_bytes(records.astype(np.uint8).tobytes())
    (folder / "batches.meta.txt").write_text("\n".join(cifar10.CLASSES) + "\n\n")


def write_cifar_py(folder: Path, content) -> dict[str, str]:
    """The python batches as the official tarball pickles them; returns each file's md5."""
    folder.mkdir(parents=True)
    for name, (images, labels) in content.items():
        batch = {"batch_label": name, "labels": labels.tolist(), "data": images.reshape(len(images), -1),
                 "filenames": [f"{name}_{i}.png" for i in range(len(labels))]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {"label_names": list(cifar10.CLASSES), "num_cases_per_batch": 10000, "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in folder.iterdir()}


@pytest.fixture
def trust_test_batches(monkeypatch):
    """Make torchvision's md5 gate accept the files a test wrote.

    The official md5s name the official 30 MB batches, which a test cannot
    ship; replacing the class's md5 table with the md5s of the files just
    written keeps torchvision's own check in the path, and a tampered file
    is still refused (test below).
    """
    from torchvision.datasets import CIFAR10

    def trust(md5s: dict[str, str]):
        monkeypatch.setattr(CIFAR10, "train_list", [[n, md5s[n]] for n in cifar10.TRAIN_BATCHES])
        monkeypatch.setattr(CIFAR10, "test_list", [[n, md5s[n]] for n in cifar10.TEST_BATCHES])
        monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5s["batches.meta"]})

    return trust


def test_cifar_binary_batches_read_back_exactly(tmp_path):
    content = cifar_content()
    write_cifar_bin(tmp_path / "cifar-10-batches-bin", content)
    ds = cifar10.load_cifar10(tmp_path)
    train_images = np.concatenate([content[n][0] for n in cifar10.TRAIN_BATCHES])
    train_labels = np.concatenate([content[n][1] for n in cifar10.TRAIN_BATCHES])
    assert np.array_equal(ds.train_x.numpy(), train_images)  # R, G, B planes in batch order 1-5
    assert ds.train_y.tolist() == train_labels.tolist()
    assert np.array_equal(ds.test_x.numpy(), content["test_batch"][0])
    assert ds.classes == cifar10.CLASSES and ds.notes["format"] == "bin"


def test_cifar_python_batches_through_torchvision_match_binary(tmp_path, trust_test_batches):
    content = cifar_content()
    write_cifar_bin(tmp_path / "cifar-10-batches-bin", content)
    trust_test_batches(write_cifar_py(tmp_path / "cifar-10-batches-py", content))
    from_py = cifar10.load_cifar10(tmp_path, format="py")
    from_bin = cifar10.load_cifar10(tmp_path, format="bin")
    assert from_py.notes["format"] == "py"
    assert torch.equal(from_py.train_x, from_bin.train_x) and torch.equal(from_py.test_y, from_bin.test_y)
    assert from_py.fingerprint == from_bin.fingerprint
    assert cifar10.load_cifar10(tmp_path).notes["format"] == "bin"  # auto prefers no unpickling


def test_cifar_python_tampered_batch_is_not_unpickled(tmp_path, trust_test_batches):
    folder = tmp_path / "cifar-10-batches-py"
    trust_test_batches(write_cifar_py(folder, cifar_content()))
    (folder / "data_batch_3").write_bytes((folder / "data_batch_3").read_bytes()[:-1] + b"!")
    with pytest.raises(DataError) as exc:
        cifar10.load_cifar10(tmp_path)
    assert f"{folder / 'data_batch_3'}: md5 does not match" in one_line(exc)


def test_cifar_python_batches_need_official_md5(tmp_path):
    write_cifar_py(tmp_path / "cifar-10-batches-py", cifar_content())  # md5s are not the official ones
    with pytest.raises(DataError) as exc:
        cifar10.load_cifar10(tmp_path)
    assert "data_batch_1: md5 does not match the official CIFAR-10" in one_line(exc)


@pytest.mark.parametrize("damage, expected", [
    (lambda b: b[:-7], "is not a positive multiple of the 3073-byte record"),
    (lambda b: bytes([12]) + b[1:], "record 0 has label 12, expected 0-9"),
])
def test_cifar_binary_damage(tmp_path, damage, expected):
    folder = tmp_path / "cifar-10-batches-bin"
    write_cifar_bin(folder, cifar_content())
    path = folder / "data_batch_2.bin"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DataError) as exc:
        cifar10.load_cifar10(tmp_path)
    message = one_line(exc)
    assert str(path) in message and expected in message


def test_cifar_missing_and_incomplete(tmp_path):
    with pytest.raises(DataError) as exc:
        cifar10.load_cifar10(tmp_path)
    message = one_line(exc)
    assert "test_batch.bin" in message and "batches.meta" in message and "ganbench data download cifar10" in message
    assert f"{tmp_path / 'cifar-10-batches-bin'}, {tmp_path / 'cifar-10-batches-py'}, {tmp_path}" in message
    write_cifar_bin(tmp_path / "cifar-10-batches-bin", cifar_content())
    (tmp_path / "cifar-10-batches-bin" / "test_batch.bin").unlink()
    with pytest.raises(DataError) as exc:
        cifar10.load_cifar10(tmp_path)
    assert "incomplete: missing test_batch.bin" in one_line(exc)


# ---------------------------------------------------------------- SVHN

def write_svhn(folder: Path, split: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    x = RNG.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)  # the official (H, W, C, N) layout
    y = RNG.integers(1, 11, (n, 1)).astype(np.uint8)
    y[0] = 10  # the digit 0
    scipy.io.savemat(folder / svhn.FILES[split], {"X": x, "y": y})
    return x, y


def test_svhn_mat_files_read_back_exactly(tmp_path):
    x, y = write_svhn(tmp_path / "svhn", "train", 5)
    write_svhn(tmp_path / "svhn", "test", 4)
    ds = svhn.load_svhn(tmp_path)
    assert ds.train_x.shape == (5, 3, 32, 32)
    assert ds.train_x[2, 1, 7, 30] == x[7, 30, 1, 2]  # (N, C, H, W) <- (H, W, C, N): rows stay rows
    assert np.array_equal(ds.train_x.numpy(), x.transpose(3, 2, 0, 1))
    assert ds.train_y[0] == 0 and ds.train_y.tolist() == [v % 10 for v in y[:, 0].tolist()]
    assert len(ds.test_y) == 4


def test_svhn_extra_is_appended_to_training(tmp_path):
    write_svhn(tmp_path, "train", 5)  # the root itself holds the files
    write_svhn(tmp_path, "test", 2)
    with pytest.raises(DataError) as exc:
        svhn.load_svhn(tmp_path, extra=True)
    assert "missing extra_32x32.mat" in one_line(exc)
    extra_x, _ = write_svhn(tmp_path, "extra", 3)
    ds = svhn.load_svhn(tmp_path, extra=True)
    assert len(ds.train_y) == 8 and np.array_equal(ds.train_x[5:].numpy(), extra_x.transpose(3, 2, 0, 1))


@pytest.mark.parametrize("content, expected", [
    (b"MATLAB 5.0 MAT-file" + b"\x00" * 50, "not a readable .mat file"),
    ("truncate", "not a readable .mat file"),
    ({"images": np.zeros((2, 2), np.uint8)}, "no 'X' and 'y' arrays (found ['images'])"),
    ({"X": np.zeros((28, 28, 1, 2), np.uint8), "y": np.ones((2, 1))}, "expected uint8 (32, 32, 3, N)"),
    ({"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.array([[0], [3]])}, "labels range 0-3, expected 1-10"),
])
def test_svhn_unreadable_or_foreign_mat(tmp_path, content, expected):
    write_svhn(tmp_path / "svhn", "test", 2)
    path = tmp_path / "svhn" / "train_32x32.mat"
    if content == "truncate":
        write_svhn(tmp_path / "svhn", "train", 4)
        path.write_bytes(path.read_bytes()[:5000])
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        scipy.io.savemat(path, content)
    with pytest.raises(DataError) as exc:
        svhn.load_svhn(tmp_path)
    message = one_line(exc)
    assert message.startswith(str(path)) and expected in message


def test_svhn_missing(tmp_path):
    with pytest.raises(DataError) as exc:
        svhn.load_svhn(tmp_path)
    message = one_line(exc)
    assert f"no train_32x32.mat in {tmp_path / 'svhn'}, {tmp_path / 'SVHN'}, {tmp_path}." in message
    assert "ganbench data download svhn" in message


# ---------------------------------------------------------------- LSUN

def encode(array: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    options = {"lossless": True} if fmt == "WEBP" else {"quality": 95, "subsampling": 0} if fmt == "JPEG" else {}
    Image.fromarray(array).save(buf, format=fmt, **options)
    return buf.getvalue()


def write_lsun(path: Path, arrays: list[np.ndarray], formats: list[str]) -> None:
    """An LMDB database as LSUN ships it: image id -> encoded image bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    env = lmdb.open(str(path), map_size=1 << 24)
    with env.begin(write=True) as txn:
        for i, (array, fmt) in enumerate(zip(arrays, formats)):
            txn.put(hashlib.sha1(bytes([i])).hexdigest().encode(), encode(array, fmt))
    env.close()


def key_order(n: int) -> list[int]:
    """Indices of the written images in the database's (sorted) key order."""
    return sorted(range(n), key=lambda i: hashlib.sha1(bytes([i])).hexdigest())


def lsun_images(n: int) -> list[np.ndarray]:
    """12 wide, 8 high; 4x4 blocks of one colour, so that JPEG keeps them close."""
    return [np.kron(RNG.integers(0, 256, (2, 3, 3)), np.ones((4, 4, 1))).astype(np.uint8) for _ in range(n)]


def test_lsun_lmdb_decoded_cropped_and_held_out(tmp_path):
    arrays = lsun_images(6)
    formats = ["WEBP", "PNG", "JPEG", "WEBP", "PNG", "WEBP"]
    write_lsun(tmp_path / "lsun" / "bedroom_train_lmdb", arrays, formats)
    ds = lsun.load_lsun(tmp_path, "bedroom", size=8, holdout_every=3)
    order = key_order(6)
    expected_test = [order[2], order[5]]  # every 3rd image in key order
    expected_train = [i for i in order if i not in expected_test]
    assert ds.name == "lsun-bedroom" and ds.classes == ["bedroom"]
    assert ds.train_x.shape == (4, 3, 8, 8) and ds.test_x.shape == (2, 3, 8, 8)
    assert ds.train_y.tolist() == [0] * 4
    for got, index in zip(list(ds.train_x) + list(ds.test_x), expected_train + expected_test):
        center = arrays[index][:, 2:10].transpose(2, 0, 1)  # shorter side is already 8: crop only
        if formats[index] == "JPEG":
            assert np.abs(got.numpy().astype(int) - center).mean() < 4  # lossy
        else:
            assert np.array_equal(got.numpy(), center)


def test_lsun_resizes_as_dcgan(tmp_path):
    write_lsun(tmp_path / "church_outdoor_train_lmdb", lsun_images(2), ["PNG", "PNG"])
    ds = lsun.load_lsun(tmp_path, "church_outdoor", size=4, holdout_every=2)
    assert ds.train_x.shape == (1, 3, 4, 4) and ds.test_x.shape == (1, 3, 4, 4)


def test_lsun_official_validation_set_and_limit(tmp_path):
    write_lsun(tmp_path / "lsun" / "tower_train_lmdb", lsun_images(5), ["PNG"] * 5)
    with pytest.raises(DataError) as exc:
        lsun.load_lsun(tmp_path, "tower", size=8, test="val")
    assert "no tower_val_lmdb/" in one_line(exc)
    val = lsun_images(2)
    write_lsun(tmp_path / "lsun" / "tower_val_lmdb", val, ["PNG"] * 2)
    ds = lsun.load_lsun(tmp_path, "tower", size=8, test="val", limit=3)
    assert len(ds.train_x) == 3 and len(ds.test_x) == 2
    assert np.array_equal(ds.test_x[0].numpy(), val[key_order(2)[0]][:, 2:10].transpose(2, 0, 1))


def test_lsun_broken_databases(tmp_path):
    db = tmp_path / "kitchen_train_lmdb"
    db.mkdir()
    with pytest.raises(DataError) as exc:
        lsun.load_lsun(tmp_path, "kitchen")
    assert f"{db}: no data.mdb" in one_line(exc)
    (db / "data.mdb").write_bytes(RNG.bytes(20000))
    with pytest.raises(DataError) as exc:
        lsun.load_lsun(tmp_path, "kitchen")
    assert f"{db / 'data.mdb'}: not a readable LMDB database" in one_line(exc)


def test_lsun_truncated_database_is_refused_before_reading(tmp_path):
    db = tmp_path / "bridge_train_lmdb"
    write_lsun(db, lsun_images(40), ["PNG"] * 40)
    data = db / "data.mdb"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with pytest.raises(DataError) as exc:
        lsun.load_lsun(tmp_path, "bridge", size=8)
    assert f"{data}: truncated LMDB database" in one_line(exc)


def test_lsun_undecodable_image_names_the_key(tmp_path):
    db = tmp_path / "lsun" / "bedroom_train_lmdb"
    db.parent.mkdir()
    env = lmdb.open(str(db), map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"0a1b", encode(lsun_images(1)[0], "PNG"))
        txn.put(b"ffee", b"RIFF\x00\x00\x00\x00WEBPVP8 broken")
    env.close()
    with pytest.raises(DataError) as exc:
        lsun.load_lsun(tmp_path, "bedroom", size=8)
    assert f"{db} key ffee: not a decodable image" in one_line(exc)


def test_lsun_missing_names_database_and_places(tmp_path):
    with pytest.raises(DataError) as exc:
        lsun.load_lsun(tmp_path, "bedrom")
    message = one_line(exc)
    assert f"no bedrom_train_lmdb/ in {tmp_path / 'lsun'}, {tmp_path}" in message
    assert "LSUN scene categories: bedroom" in message and "download.py" in message


# ---------------------------------------------------------------- image folders

def write_png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def gray(h=6, w=5) -> np.ndarray:
    return RNG.integers(0, 256, (h, w), dtype=np.uint8)


def test_png_folders_read_back_exactly(tmp_path):
    images = {"train/cat/1.png": gray(), "train/cat/0.png": gray(), "train/ant/x.png": gray(), "test/cat/t.png": gray()}
    for name, array in images.items():
        write_png(tmp_path / name, array)
    ds = folder.load_folder(None, str(tmp_path))
    assert ds.classes == ["ant", "cat"] and ds.name == f"folder:{tmp_path}"
    assert ds.train_x.shape == (3, 1, 6, 5) and ds.train_y.tolist() == [0, 1, 1]  # classes, then files, sorted
    assert np.array_equal(ds.train_x[1, 0].numpy(), images["train/cat/0.png"])
    assert np.array_equal(ds.test_x[0, 0].numpy(), images["test/cat/t.png"]) and ds.test_y.tolist() == [1]


def test_png_folders_mixed_gray_and_colour_become_rgb(tmp_path):
    colour = RNG.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    write_png(tmp_path / "train/a/rgb.png", colour)
    write_png(tmp_path / "train/a/zgray.png", g := gray())
    write_png(tmp_path / "test/a/t.png", gray())
    ds = folder.load_folder(None, str(tmp_path))
    assert ds.train_x.shape == (2, 3, 6, 5)
    assert np.array_equal(ds.train_x[0].numpy(), colour.transpose(2, 0, 1))
    assert all(np.array_equal(ds.train_x[1, c].numpy(), g) for c in range(3))


def test_png_folders_size_option_center_crops(tmp_path):
    write_png(tmp_path / "train/a/wide.png", wide := gray(4, 8))
    write_png(tmp_path / "test/a/t.png", gray(6, 4))
    with pytest.raises(DataError) as exc:
        folder.load_folder(None, str(tmp_path))
    assert f"{tmp_path / 'test/a/t.png'}: 4x6 pixels, but {tmp_path / 'train/a/wide.png'} is 8x4" in one_line(exc)
    ds = folder.load_folder(None, str(tmp_path), size=4)
    assert ds.train_x.shape == (1, 1, 4, 4) and np.array_equal(ds.train_x[0, 0].numpy(), wide[:, 2:6])


@pytest.mark.parametrize("layout, expected", [
    ({"train/a/x.png": b"not an image at all", "test/a/y.png": None}, "train/a/x.png: not a decodable image"),
    ({"train/a/x.png": None, "test/b/y.png": None}, "class folder(s) b not in"),
    ({"train/a/x.png": None}, "test: no such folder; expected <path>/train/<class>/<image>"),
    ({"train/a/x.png": None, "train/b/notes.txt": b"hi", "test/a/y.png": None}, "no images in class folder(s) b"),
])
def test_image_folder_errors(tmp_path, layout, expected):
    for name, content in layout.items():
        if content is None:
            write_png(tmp_path / name, gray())
        else:
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError) as exc:
        folder.load_folder(None, str(tmp_path))
    assert expected in one_line(exc)


def test_folder_missing(tmp_path):
    with pytest.raises(DataError) as exc:
        folder.load_folder(None, str(tmp_path / "nope"))
    assert f"Dataset 'folder:{tmp_path / 'nope'}' not found: no folder {tmp_path / 'nope'}" in one_line(exc)


# ---------------------------------------------------------------- data root

def test_data_root_precedence(tmp_path, monkeypatch):
    assert resolve_data_root(None) == tmp_path / "xdg" / "ganbench"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_data_root(None) == tmp_path / "home" / ".local" / "share" / "ganbench"
    monkeypatch.setenv("GANBENCH_DATA", str(tmp_path / "env"))
    assert resolve_data_root(None) == tmp_path / "env"
    assert resolve_data_root(tmp_path / "given") == tmp_path / "given"
    monkeypatch.chdir(tmp_path)
    assert resolve_data_root("rel/../given") == tmp_path / "given"
