"""The DCGAN paper's CIFAR-10 figure (D of width 256) as a job for a lent GPU machine, and its smoke test.

The steps, where they run (``benchmarks/gpu/README.md`` has the calls and the time each takes):

    pack    here   CIFAR-10's six binary batches, compressed losslessly, in parts under .gpu-carry/call-N/,
                   and the device calls to make (their commands and carry lists), printed
    stash   there  each call: the carried parts moved into .gpu-carry/parts/, which stays while the machine is warm
    device  there  the last data call: unpack (md5s against the manifest and the official ones), the GPU tests,
                   throughput at widths 64 and 256 against the PyTorch example's loop, `ganbench run` training
                   dcgan width 256 (checkpointed; killed at the call's deadline, resumed by the same call),
                   extracting the `d` features and probing them there; what the CPU needs goes to $OUT in parts
    send    there  the next call: the parts that did not fit in the last $OUT
    home    here   the parts joined and checked, the model placed in the cache under the key a plain
                   `ganbench run` computes, then `ganbench run ... --probe svm --view d`: the row in the store
    smoke   here   all of the above on the CPU, tiny, with $OUT and the carried folders simulated by temporary
                   folders (tests/test_gpu_job.py runs it)

Every bad input is refused in one line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import io
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CARRY = ".gpu-carry"  # ignored by the repository's .gitignore: it travels only where a call's carry names it
MiB = 1 << 20
RECORD = 3073  # a CIFAR-10 binary record: the label byte, then the 32x32 red, green and blue planes
OFFICIAL_MD5 = {  # the official binary batches (../shared/data/README.md)
    "data_batch_1.bin": "5dd7e06a14cb22eb9f671a540d1b7c25",
    "data_batch_2.bin": "5ea93a67294ea407fff1d09f752e9692",
    "data_batch_3.bin": "942cd6a4bcdd0dd3c604fbe906cb4421",
    "data_batch_4.bin": "ae636b3ba5c66a11e91e8cb52e771fcb",
    "data_batch_5.bin": "53f37980c15c3d472c316c40844f3f0d",
    "test_batch.bin": "803d5f7f4d78ea53de84dbe85f74fb6d",
}
BATCHES = list(OFFICIAL_MD5)
CLI = "import sys; from ganbench.cli import main; sys.argv[0] = 'ganbench'; main()"
# ganbench's dependencies the device image lacks (/work/.library/device/KINDS.md): nothing run there may need them
DEVICE_LACKS = ("faiss", "mlxtend", "lmdb")
PAPER_EPOCHS = 25
SAMPLE_ROWS = 32  # test images whose `d` features come back, to compare with the CPU's


@dataclass(frozen=True)
class Limits:
    """The device tool's limits, in bytes: what one call carries there, what comes back from $OUT."""

    carry_part: int = 4 * MiB  # small parts fill each call's carry closely
    carry_call: int = 64 * MiB  # the working tree that travels, tree included
    back_part: int = 15 * MiB  # under the 16 MiB a file of $OUT may have
    back_call: int = 63 * MiB  # under the 64 MiB $OUT may hold, with room for back.json
    back_files: int = 8
    spare: int = MiB  # kept free in each carrying call: the tree may grow a little between pack and call


DEVICE = Limits()
SMOKE = Limits(carry_part=24 << 10, carry_call=160 << 10, back_part=48 << 10, back_call=150 << 10, spare=0)


class Refused(Exception):
    """A bad input: said in one line, exit code 2."""


def say(message: str) -> None:
    print(message, flush=True)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def file_md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MiB), b""):
            h.update(block)
    return h.hexdigest()


def write_json(path: Path, value) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=1))
    tmp.replace(path)


def read_json(path: Path, what: str) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise Refused(f"{path}: cannot read the {what} ({type(exc).__name__}: {exc}).") from None


# -- the codec: CIFAR-10's records in about 56 % of their bytes, losslessly ---------------------------------------
# The batches hardly compress as bytes (gzip 92 %, xz 76 %). As images they do: the batch's images laid out as one
# mosaic, 100 to a row, and written as lossless WebP by Pillow (libwebp's predictors and entropy coder) take 56 %:
# two calls instead of four, in about 20 s a batch.

MOSAIC_COLUMNS = 100  # 3,200 pixels wide; WebP allows 16,383


def encode_batch(raw: bytes) -> bytes:
    """Records -> the count, the labels, then every image in one lossless WebP mosaic."""
    from PIL import Image

    records = np.frombuffer(raw, np.uint8).reshape(-1, RECORD)
    n = len(records)
    columns = min(n, MOSAIC_COLUMNS)
    rows = -(-n // columns)
    images = np.zeros((rows * columns, 32, 32, 3), np.uint8)
    images[:n] = records[:, 1:].reshape(n, 3, 32, 32).transpose(0, 2, 3, 1)
    mosaic = images.reshape(rows, columns, 32, 32, 3).transpose(0, 2, 1, 3, 4).reshape(rows * 32, columns * 32, 3)
    buffer = io.BytesIO()
    Image.fromarray(mosaic).save(buffer, "WEBP", lossless=True, quality=100, method=4)
    return n.to_bytes(4, "big") + records[:, 0].tobytes() + buffer.getvalue()


def decode_batch(packed: bytes) -> bytes:
    """The inverse of :func:`encode_batch`."""
    from PIL import Image

    n = int.from_bytes(packed[:4], "big")
    labels = np.frombuffer(packed[4:4 + n], np.uint8)
    mosaic = np.asarray(Image.open(io.BytesIO(packed[4 + n:])).convert("RGB"))
    columns = mosaic.shape[1] // 32
    images = mosaic.reshape(-1, 32, columns, 32, 3).transpose(0, 2, 1, 3, 4).reshape(-1, 32, 32, 3)[:n]
    pixels = images.transpose(0, 3, 1, 2).reshape(n, 3 * 32 * 32)
    return np.concatenate([labels[:, None], pixels], axis=1).tobytes()


# -- pack (here) ------------------------------------------------------------------------------------------------

def batches_folder(data: Path) -> Path:
    """The folder holding the six binary batches: ``data`` itself or its ``cifar-10-batches-bin``."""
    for folder in (data / "cifar-10-batches-bin", data):
        if all((folder / name).is_file() for name in BATCHES):
            return folder
    raise Refused(f"--data {data}: expected {', '.join(BATCHES)} in it or in its cifar-10-batches-bin/ "
                  f"(the official binary CIFAR-10, e.g. ../shared/data/cifar-10).")


def tree_bytes(root: Path) -> int:
    """What travels with every call besides the carry: tracked and untracked-not-ignored files, and shared/."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                                capture_output=True, check=True).stdout.split(b"\0")
    except (OSError, subprocess.CalledProcessError):
        raise Refused(f"{root}: cannot list the working tree with git; pass its size with --tree-mib.") from None
    files = [root / os.fsdecode(name) for name in listed if name]
    shared = root / "shared"
    if shared.is_dir():
        files += [p for p in shared.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files if p.is_file())


def check_ignored(root: Path, carry: Path) -> None:
    """The carry folder must be ignored by git, or it would travel with every call whole."""
    if carry.resolve().parent != root.resolve():
        return  # a folder outside the repository (the smoke test) travels with nothing
    carry.mkdir(exist_ok=True)  # a pattern for folders (`/.gpu-carry/`) matches only a folder that exists
    result = subprocess.run(["git", "check-ignore", "-q", carry.name], cwd=root, capture_output=True)
    if result.returncode != 0:
        raise Refused(f"{carry}: git does not ignore it, so it would travel with every call; add /{carry.name}/ "
                      f"to .gitignore or to .git/info/exclude.")


def pack(data: Path, carry: Path, limits: Limits, tree: int, official: bool = True) -> list[str]:
    """Compress and split the batches into ``carry/call-N/``; the call folders, in order."""
    folder = batches_folder(data)
    budget = limits.carry_call - tree - limits.spare
    if budget < limits.carry_part:
        raise Refused(f"the working tree ({tree / MiB:.1f} MiB) leaves no room under the {limits.carry_call / MiB:.0f} "
                      f"MiB a call may carry; remove large untracked files from the checkout.")
    for old in carry.glob("call-*"):
        shutil.rmtree(old)
    files, parts = [], []
    for name in BATCHES:
        raw = (folder / name).read_bytes()
        if len(raw) % RECORD or not raw:
            raise Refused(f"{folder / name}: {len(raw)} bytes is not a positive multiple of the {RECORD}-byte "
                          f"CIFAR-10 record; the file is truncated or not a CIFAR-10 binary batch.")
        digest = md5(raw)
        if official and digest != OFFICIAL_MD5[name]:
            raise Refused(f"{folder / name}: md5 {digest} is not the official {OFFICIAL_MD5[name]}; "
                          f"replace it with the official binary batch.")
        started = time.perf_counter()
        packed = encode_batch(raw)
        if decode_batch(packed) != raw:  # never carry what would not come back the same
            raise Refused(f"{folder / name}: the codec does not give the file back byte for byte; not packed.")
        entry = {"name": name, "size": len(raw), "md5": digest, "packed_md5": md5(packed), "parts": []}
        for i, start in enumerate(range(0, len(packed), limits.carry_part)):
            chunk = packed[start:start + limits.carry_part]
            part = {"file": f"{name}.webp.{i:03d}", "size": len(chunk), "md5": md5(chunk)}
            entry["parts"].append(part)
            parts.append((part, chunk))
        files.append(entry)
        say(f"packed {name}: {len(raw):,} -> {len(packed):,} bytes ({len(packed) / len(raw):.1%}) in "
            f"{len(entry['parts'])} part(s), {time.perf_counter() - started:.0f} s")
    calls, size = [[]], 0
    for part, chunk in parts:  # in order, each call filled up to its budget
        if size + len(chunk) > budget and calls[-1]:
            calls.append([])
            size = 0
        calls[-1].append((part, chunk))
        size += len(chunk)
        part["call"] = len(calls)
    manifest = {"pack_id": md5(json.dumps(files).encode())[:12], "official": official, "files": files,
                "calls": len(calls)}
    names = []
    for number, call in enumerate(calls, start=1):
        target = carry / f"call-{number}"
        target.mkdir(parents=True)
        for part, chunk in call:
            (target / part["file"]).write_bytes(chunk)
        write_json(target / "manifest.json", manifest)
        names.append(target.name)
        say(f"call-{number}: {len(call)} part(s), {sum(len(c) for _, c in call) / MiB:.2f} MiB "
            f"(+ the tree's {tree / MiB:.2f} MiB, under {limits.carry_call / MiB:.2f} MiB)")
    return names


def print_calls(calls: list[str], seconds: int) -> None:
    script = "python3 benchmarks/gpu/paper_width.py"
    say("\nThe device calls, one after the other without pause (the machine keeps what the calls left for ~30 s):")
    for number, name in enumerate(calls, start=1):
        command = f"{script} stash"
        if number == len(calls):
            command += f" && PYTHONUNBUFFERED=1 {script} device --seconds {seconds}"
        timeout = 600 if number == len(calls) else 180
        say(f"  {number}. run(command={json.dumps(command)}, carry={json.dumps([f'{CARRY}/{name}'])}, timeout_s={timeout})")
    say(f"  {len(calls) + 1}. run(command={json.dumps(f'{script} send')}, timeout_s=180)   "
        f"-- only if the device call says parts are left; repeat while it says so")
    say("  If the device call says training stopped at its deadline: run(command="
        f"{json.dumps(f'PYTHONUNBUFFERED=1 {script} device --seconds {seconds}')}, timeout_s=600) resumes it.")
    say("Then here, with the files_at folder of every call that brought files back:\n"
        "  python benchmarks/gpu/paper_width.py home --back FOLDER [FOLDER ...] --data-root ../shared/data/cifar-10 "
        "--results results/reference")


# -- stash and unpack (there) ---------------------------------------------------------------------------------------

def stash(carry: Path) -> None:
    """Move each carried call's parts into ``carry/parts/`` (kept between calls while the machine is warm)."""
    stored = carry / "parts"
    stored.mkdir(parents=True, exist_ok=True)
    calls = sorted(carry.glob("call-*"))
    for call in calls:
        manifest = read_json(call / "manifest.json", "manifest of the carried parts")
        known = carry / "manifest.json"
        if known.exists() and read_json(known, "manifest")["pack_id"] != manifest["pack_id"]:
            raise Refused(f"{call}: its parts come from another pack ({manifest['pack_id']}) than the stashed ones "
                          f"({read_json(known, 'manifest')['pack_id']}); pack once and make its calls in order.")
        write_json(known, manifest)
        for part in call.iterdir():
            if part.name != "manifest.json":
                part.replace(stored / part.name)
        shutil.rmtree(call)
        say(f"stashed {call.name}")
    if not (carry / "manifest.json").exists():
        raise Refused(f"{carry}: no carried parts and no manifest; make the calls `pack` printed, in order.")
    manifest = read_json(carry / "manifest.json", "manifest")
    missing = missing_parts(manifest, stored)
    total = sum(len(f["parts"]) for f in manifest["files"])
    say(f"{total - len(missing)} of {total} parts are here" +
        (f"; still to come: calls {', '.join(map(str, sorted({p['call'] for p in missing})))}" if missing else ""))


def missing_parts(manifest: dict, stored: Path) -> list[dict]:
    return [p for f in manifest["files"] for p in f["parts"] if not (stored / p["file"]).is_file()]


def unpack(carry: Path, official: bool = True) -> Path:
    """Join, check and decode the stashed parts into ``carry/work/data/cifar-10-batches-bin``; that data root."""
    manifest = read_json(carry / "manifest.json", "manifest") if (carry / "manifest.json").exists() else None
    if manifest is None:
        raise Refused(f"{carry}/manifest.json: not here; make the calls `pack` printed (each runs `stash`) first.")
    stored, target = carry / "parts", carry / "work" / "data" / "cifar-10-batches-bin"
    target.mkdir(parents=True, exist_ok=True)
    missing = missing_parts(manifest, stored)
    if missing:
        calls = ", ".join(map(str, sorted({p["call"] for p in missing})))
        raise Refused(f"{len(missing)} part(s) missing from {stored} (first {missing[0]['file']}), carried by call(s) "
                      f"{calls}: the machine was given back between calls, or a call was skipped; make the calls again, in order.")
    for entry in manifest["files"]:
        name, out = entry["name"], target / entry["name"]
        if out.is_file() and file_md5(out) == entry["md5"]:
            say(f"{name}: already unpacked, md5 {entry['md5']}")
            continue
        chunks = []
        for part in entry["parts"]:
            chunk = (stored / part["file"]).read_bytes()
            if md5(chunk) != part["md5"]:
                raise Refused(f"{stored / part['file']}: md5 {md5(chunk)}, the manifest says {part['md5']}: the part "
                              f"changed on the way; carry it again (pack, then its call).")
            chunks.append(chunk)
        packed = b"".join(chunks)
        if md5(packed) != entry["packed_md5"]:
            raise Refused(f"{name}: the joined parts' md5 {md5(packed)} is not the manifest's {entry['packed_md5']}.")
        raw = decode_batch(packed)
        if md5(raw) != entry["md5"]:
            raise Refused(f"{name}: md5 {md5(raw)} after decoding, the manifest says {entry['md5']}; not used.")
        if official and entry["md5"] != OFFICIAL_MD5[name]:
            raise Refused(f"{name}: md5 {entry['md5']} is not the official {OFFICIAL_MD5[name]}; not used.")
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_bytes(raw)
        tmp.replace(out)
        say(f"{name}: unpacked, {len(raw):,} bytes, md5 {entry['md5']} = the manifest's"
            + (" = the official one" if official else " (smoke: the official md5s are not checked)"))
    return target.parent


# -- device (there) ----------------------------------------------------------------------------------------------------

def run_gpu_tests(work: Path, timeout: float) -> dict:
    """``pytest -m gpu`` on tests/test_gpu.py (the other test files need packages the device lacks)."""
    command = [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-rs", "tests/test_gpu.py"]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=child_env())
        code, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as exc:  # its output comes as bytes then
        code, output = None, "".join(b.decode(errors="replace") for b in (exc.stdout, exc.stderr) if b)
        output += f"\nstopped after {timeout:.0f} s"
    (work / "pytest.log").write_text(output)
    summary = [line for line in output.splitlines() if line.strip()][-1:] or [""]
    say(f"GPU tests: exit code {code}, {summary[0]} ({time.perf_counter() - started:.0f} s; log in the extras)")
    return {"command": " ".join(command[1:]), "exit_code": code, "summary": summary[0],
            "seconds": round(time.perf_counter() - started, 1)}


def train_speed_module():
    """benchmarks/train_speed.py: its ganbench loop and the PyTorch example's loop, the same peer."""
    spec = importlib.util.spec_from_file_location("train_speed", ROOT / "benchmarks" / "train_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure_speed(data_root: Path, widths: list[int], steps: int, rounds: int, batch: int, device_name: str) -> list[dict]:
    """Images/s of ganbench's Trainer and of the example's loop, alternating, per width; the ratio per width."""
    import torch

    from ganbench.datasets.open import load_dataset
    from ganbench.system.device import resolve_device

    speed = train_speed_module()
    device = resolve_device(device_name)
    dataset = load_dataset("cifar10", str(data_root))
    if batch > len(dataset.train_x):  # the example's loader drops the last short batch: it would yield none
        raise Refused(f"batch {batch} is larger than the {len(dataset.train_x)} training images; pass --batch-size.")
    records = []
    for width in widths:
        ours, theirs = [], []
        for r in range(rounds):  # alternating, so drift hits both alike
            ours.append(speed.run_ganbench("dcgan", width, dataset, device, steps, batch))
            theirs.append(speed.run_example("dcgan", width, dataset, device, steps, batch, None))
            say(f"throughput width {width}, round {r + 1}: ganbench {ours[-1]:.0f} img/s, example {theirs[-1]:.0f} img/s")
        record = {"model": "dcgan", "dataset": "cifar10", "width": width, "batch": batch, "steps": steps,
                  "device": str(device), "device_name": device_label(device), "torch": torch.__version__,
                  "ganbench_img_s": round(statistics.median(ours), 1), "example_img_s": round(statistics.median(theirs), 1),
                  "ratio": round(statistics.median(ours) / statistics.median(theirs), 3),
                  "rounds": {"ganbench": [round(v, 1) for v in ours], "example": [round(v, 1) for v in theirs]}}
        say(f"throughput width {width}: ratio ganbench / example {record['ratio']} ({record['device_name']})")
        records.append(record)
    return records


def device_label(device) -> str:
    import platform

    import torch

    return torch.cuda.get_device_name(device) if device.type == "cuda" else platform.machine()


def choose_epochs(speed: list[dict], width: int, n_train: int, batch: int, seconds_left: float) -> int:
    """The paper's 25 epochs if the measured rate says they fit in the time left, else as many as do."""
    rate = next((r["ganbench_img_s"] for r in speed if r["width"] == width), None)
    if not rate:
        say(f"no throughput measured at width {width}: training the paper's {PAPER_EPOCHS} epochs (resumable)")
        return PAPER_EPOCHS
    epoch = (n_train // batch) * batch / rate * 1.15  # 15 % for checkpoints, snapshots and the slower first steps
    fits = int(seconds_left // epoch)
    epochs = max(1, min(PAPER_EPOCHS, fits))
    say(f"one epoch ≈ {epoch:.0f} s at {rate:.0f} img/s; {seconds_left:.0f} s left for training: "
        + (f"the paper's {PAPER_EPOCHS} epochs" if epochs == PAPER_EPOCHS else
           f"{epochs} epochs, NOT the paper's {PAPER_EPOCHS} (pass --epochs 25 to train them over several calls)"))
    return epochs


def child_env(extra_path: list[str] | None = None) -> dict:
    """The environment of a child process: this checkout's ganbench first on the path."""
    env = dict(os.environ)
    paths = [*(extra_path or []), str(ROOT), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


def ganbench_run(args: list[str], timeout: float | None, log: Path | None = None) -> tuple[int | None, float]:
    """``ganbench run ARGS`` in a child process, its output passed through (and kept in ``log``); after
    ``timeout`` seconds it is stopped (SIGINT, a minute later SIGKILL), and its training resumes from the last
    checkpoint next time. ``(exit code, or None if stopped; seconds)``."""
    say("$ ganbench run " + " ".join(args))
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", CLI, "run", *args], cwd=ROOT, env=child_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    stopped = threading.Event()

    def stop():
        stopped.set()
        process.send_signal(signal.SIGINT)

    timers = [] if timeout is None else [threading.Timer(timeout, stop), threading.Timer(timeout + 60, process.kill)]
    for timer in timers:
        timer.start()
    with open(log or os.devnull, "w") as sink:
        for line in process.stdout:
            sys.stdout.write(line)
            sink.write(line)
        sys.stdout.flush()
    process.wait()
    for timer in timers:
        timer.cancel()
    return (None if stopped.is_set() else process.returncode), time.perf_counter() - started


def run_args(width: int, epochs: int, batch: int | None, data_root: Path, cache: Path, results: Path, device: str,
             checkpoint_every: int) -> list[str]:
    """The `ganbench run` arguments of this job, the same there (training) and here (the row)."""
    args = ["--model", "dcgan", "--model-opt", f"width={width}", "--dataset", "cifar10", "--data-root", str(data_root),
            "--epochs", str(epochs), "--cache-dir", str(cache), "--results", str(results), "--device", device,
            "--checkpoint-every", str(checkpoint_every), "--probe", "svm", "--view", "d"]
    return args + (["--batch-size", str(batch)] if batch else [])


def model_folder(cache: Path) -> Path | None:
    """The one dcgan folder the device's cache holds (throughput runs train in temporary folders)."""
    folders = sorted((cache / "models").glob("dcgan-*"))
    if len(folders) > 1:
        raise Refused(f"{cache / 'models'}: {len(folders)} dcgan folders; expected one. Delete {cache} and run again.")
    return folders[0] if folders else None


def device(args) -> None:
    """Everything the device does in one call, each part skipped when an earlier call on this machine did it."""
    import torch

    began = time.monotonic()
    left = lambda: args.seconds - (time.monotonic() - began)  # noqa: E731
    out = Path(args.out or os.environ.get("OUT") or "")
    if not str(out) or not out.is_dir():
        raise Refused("no $OUT folder: run `device` through the device tool (or give --out FOLDER).")
    carry, official = Path(args.carry), not args.smoke
    data_root = unpack(carry, official)
    work = carry / "work"
    measured = read_json(work / "measurements.json", "measurements") if (work / "measurements.json").exists() else {}
    measured.setdefault("device", {"name": args.device, "torch": torch.__version__,
                                   "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None})
    if "tests" not in measured and not args.skip_tests:
        measured["tests"] = run_gpu_tests(work, timeout=min(240, max(left() / 4, 30)))
        write_json(work / "measurements.json", measured)
    if "speed" not in measured and not args.skip_speed:
        started = time.perf_counter()
        try:
            measured["speed"] = measure_speed(data_root, args.speed_widths, args.speed_steps, args.speed_rounds,
                                              args.batch_size or 128, args.device)
        except Exception as exc:  # the lease is for the training: a broken benchmark is recorded, not fatal
            measured["speed"], measured["speed_error"] = [], f"{type(exc).__name__}: {exc}"
            say(f"throughput NOT measured: {measured['speed_error']}")
        say(f"throughput step: {time.perf_counter() - started:.0f} s")
        write_json(work / "measurements.json", measured)
    batch = args.batch_size or 128
    if args.epochs != "fit":
        epochs = int(args.epochs)
    else:  # a resumed training keeps the epochs it started with: they are part of its cache key
        n_train = 50_000 if official else count_train(data_root)
        epochs = measured.get("epochs") or choose_epochs(measured.get("speed", []), args.width, n_train, batch,
                                                         left() - args.reserve - args.back_reserve)
    measured["epochs"] = epochs
    write_json(work / "measurements.json", measured)
    cache, results = work / "cache", work / "results"
    run = run_args(args.width, epochs, args.batch_size, data_root, cache, results, args.device, args.checkpoint_every)
    if left() - args.back_reserve < 10:
        raise Refused(f"only {left():.0f} s of --seconds {args.seconds:.0f} left: too little to train; give more.")
    code, seconds = ganbench_run(run, timeout=left() - args.back_reserve, log=work / "ganbench-run.log")
    folder = model_folder(cache)
    meta = read_json(folder / "meta.json", "training's meta.json") if folder and (folder / "meta.json").exists() else {}
    measured["training"] = {"exit_code": code, "stopped_at_deadline": code is None, "call_seconds": round(seconds, 1),
                            "width": args.width, "epochs": epochs, "batch_size": args.batch_size, "meta": meta}
    write_json(work / "measurements.json", measured)
    if (not folder or not (folder / "weights.safetensors").is_file()) and code is not None:
        raise Refused(f"`ganbench run` exited {code} without a trained model (its output is above, and in "
                      f"{work / 'ganbench-run.log'}); fix that, then make this call again.")
    if not folder or not (folder / "weights.safetensors").is_file():
        say(f"TRAINING NOT FINISHED: stopped at the deadline, {meta.get('steps')} steps in the last checkpoint, "
            f"{epochs} epochs asked. Resume it at once, while the machine is warm: run(command=\"PYTHONUNBUFFERED=1 "
            f"python3 benchmarks/gpu/paper_width.py device --seconds {args.seconds:.0f}\", timeout_s=600)")
        return
    limits = DEVICE if official else SMOKE
    prepare_back(work, folder, measured, run, limits)
    send(carry, out, limits)


def count_train(data_root: Path) -> int:
    folder = data_root / "cifar-10-batches-bin"
    return sum((folder / name).stat().st_size // RECORD for name in BATCHES[:5])


def prepare_back(work: Path, folder: Path, measured: dict, run: list[str], limits: Limits) -> None:
    """``work/back/``: the weights in parts, the extras (meta, log, the device's rows, a features sample) zipped,
    and back.json describing them with their md5s."""
    back = work / "back"
    shutil.rmtree(back, ignore_errors=True)
    back.mkdir()
    extras = back / "extras.zip"
    with zipfile.ZipFile(extras, "w", zipfile.ZIP_DEFLATED) as z:
        for name in ("meta.json", "log.jsonl"):
            if (folder / name).is_file():
                z.write(folder / name, name)
        for name in ("pytest.log", "ganbench-run.log"):
            if (work / name).is_file():
                z.write(work / name, name)
        store = work / "results"
        for path in sorted(store.rglob("*")) if store.is_dir() else []:
            if path.is_file() and not path.name.endswith(".lock"):
                z.write(path, f"results/{path.relative_to(store)}")
        sample = features_sample(folder)
        if sample is not None:
            np.save(work / "features-sample.npy", sample)
            z.write(work / "features-sample.npy", "features-sample.npy")
    files = {}
    for path in (extras, folder / "weights.safetensors"):
        data = path.read_bytes()
        entry = {"size": len(data), "md5": md5(data), "sha256": hashlib.sha256(data).hexdigest(), "parts": []}
        for i, start in enumerate(range(0, len(data), limits.back_part)):
            chunk = data[start:start + limits.back_part]
            name = f"{path.name}.{i:03d}"
            (back / name).write_bytes(chunk)
            entry["parts"].append({"file": name, "size": len(chunk), "md5": md5(chunk)})
        files[path.name] = entry
    extras.unlink()
    write_json(back / "back.json", {"run_id": md5(json.dumps(files).encode())[:12], "model_folder": folder.name,
                                    "run_args": run, "files": files, "measurements": measured,
                                    "sample_rows": SAMPLE_ROWS})
    say(f"back: {sum(len(f['parts']) for f in files.values())} part(s) of {', '.join(files)} "
        f"({sum(f['size'] for f in files.values()) / MiB:.1f} MiB) in {back}")



def features_sample(folder: Path) -> np.ndarray | None:
    """The first test images' `d` features as the device extracted them (cached by `ganbench run`), or None."""
    found = sorted(folder.glob("features/final-*/*-float32-*/d-test.npy"))
    if not found:
        return None
    return np.array(np.load(found[0], mmap_mode="r")[:SAMPLE_ROWS])


def send(carry: Path, out: Path, limits: Limits) -> None:
    """Copy into ``out`` the next back parts that fit the limits, with back.json; say what is left."""
    back = carry / "work" / "back"
    if not (back / "back.json").is_file():
        raise Refused(f"{back}/back.json: nothing to send; the device call has not finished a training on this machine.")
    out = Path(out or os.environ.get("OUT") or "")
    if not str(out) or not out.is_dir():
        raise Refused("no $OUT folder: run `send` through the device tool (or give --out FOLDER).")
    info = read_json(back / "back.json", "back manifest")
    sent_path = back / "sent.json"
    sent = set(read_json(sent_path, "sent list")["sent"]) if sent_path.exists() else set()
    waiting = [p for f in info["files"].values() for p in f["parts"] if p["file"] not in sent]
    shutil.copy(back / "back.json", out / "back.json")
    size, files, now = (back / "back.json").stat().st_size, 1, []
    for part in waiting:
        if files + 1 > limits.back_files or size + part["size"] > limits.back_call:
            break
        shutil.copy(back / part["file"], out / part["file"])
        size, files = size + part["size"], files + 1
        now.append(part["file"])
    sent |= set(now)
    write_json(sent_path, {"sent": sorted(sent)})
    left = len(waiting) - len(now)
    say(f"sent {len(now)} part(s), {size / MiB:.1f} MiB in {files} file(s) to {out}: {', '.join(now) or 'none'}")
    say(f"{left} part(s) left: make the call run(command=\"python3 benchmarks/gpu/paper_width.py send\", timeout_s=180) "
        f"at once" if left else "every part has been sent: run `home` here with the files_at folder of each call")


# -- home (here) --------------------------------------------------------------------------------------------------------

def gather(folders: list[Path]) -> tuple[dict, dict[str, Path]]:
    """back.json (the same in every folder) and the part files found in ``folders``."""
    info, found = None, {}
    for folder in folders:
        if not (folder / "back.json").is_file():
            raise Refused(f"--back {folder}: no back.json in it; give the files_at folders of the device and send calls.")
        this = read_json(folder / "back.json", "back manifest")
        if info is not None and this["run_id"] != info["run_id"]:
            raise Refused(f"--back {folder}: its parts come from another device run ({this['run_id']}) than "
                          f"{folders[0]}'s ({info['run_id']}).")
        info = this
        found.update({p.name: p for p in folder.iterdir() if p.name != "back.json"})
    if info is None:
        raise Refused("--back: give at least one folder.")
    return info, found


def joined(info: dict, found: dict[str, Path], name: str) -> bytes:
    """The file ``name`` joined from its parts, every md5 and the sha256 checked."""
    entry, chunks = info["files"][name], []
    missing = [p["file"] for p in entry["parts"] if p["file"] not in found]
    if missing:
        raise Refused(f"{name}: {len(missing)} part(s) did not come back ({', '.join(missing)}): make the call "
                      f"`python3 benchmarks/gpu/paper_width.py send` while the machine is warm, and pass its folder too.")
    for part in entry["parts"]:
        chunk = found[part["file"]].read_bytes()
        if md5(chunk) != part["md5"]:
            raise Refused(f"{found[part['file']]}: md5 {md5(chunk)}, back.json says {part['md5']}: the part changed "
                          f"on the way back; bring it again with `send`.")
        chunks.append(chunk)
    data = b"".join(chunks)
    if md5(data) != entry["md5"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise Refused(f"{name}: the joined parts' digest is not back.json's; bring the parts again.")
    return data


def home(args) -> None:
    """Join and check what came back, place the model in the cache, run the probe: the row in the store."""
    from ganbench.jobs.job import load_dataset, resolve
    from ganbench.jobs.preparation import trainer_for
    from ganbench.jobs.submit import build_jobs
    from ganbench.store.jsonl import read_rows, store_path
    from ganbench.system.errors import DataError, UsageError
    from ganbench.system.paths import default_cache_dir

    info, found = gather([Path(f) for f in args.back])
    weights, extras = joined(info, found, "weights.safetensors"), joined(info, found, "extras.zip")
    say(f"joined weights.safetensors ({len(weights):,} bytes) and extras.zip from {len(found)} part(s): every md5 "
        f"and the sha256s as the device wrote them")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "extras.zip").write_bytes(extras)
        with zipfile.ZipFile(Path(tmp) / "extras.zip") as z:
            members = {name: z.read(name) for name in z.namelist()}
    meta = json.loads(members["meta.json"])
    run = info["measurements"]["training"]
    cache = Path(args.cache_dir or default_cache_dir()).expanduser()
    try:
        jobs = build_jobs(["dcgan"], ["cifar10"], ["svm"], [0], [f"width={run['width']}"], [], [], str(cache), ["d"],
                          data_root=args.data_root, device="cpu", epochs=run["epochs"], max_steps=None,
                          batch_size=run["batch_size"], checkpoint_every=200, dedup=False, at_epoch=None,
                          bn_stats="train-images")
        job = jobs[0]
        resolved = resolve(job)
        trainer = trainer_for(job, resolved, load_dataset(job, resolved), log=say)
    except (UsageError, DataError) as exc:
        raise Refused(str(exc)) from None
    folder = trainer.folder
    if folder.name != info["model_folder"]:
        raise Refused(f"the device trained {info['model_folder']}, but here this job's model is {folder.name}: the data "
                      f"under --data-root {args.data_root} or ganbench's dcgan differ from the device's.")
    place(folder, weights, members, meta)
    if trainer.read_weights(trainer.weights_path, meta_checked=True) is None:
        raise Refused(f"{trainer.weights_path}: ganbench does not accept the placed weights (said above); not probed.")
    say(f"placed the trained model in {folder} ({run['epochs']} epochs"
        + (f", NOT the paper's {PAPER_EPOCHS}" if run["epochs"] != PAPER_EPOCHS else ", the paper's schedule") + ")")
    results = Path(args.results)
    code, seconds = ganbench_run(run_args(run["width"], run["epochs"], run["batch_size"], Path(args.data_root), cache,
                                          results, "cpu", 200), timeout=None)
    row = the_row(read_rows(results), folder.name.partition("-")[2])
    if row is None:
        raise Refused(f"`ganbench run` exited {code} and left no svm row of {folder.name} in {store_path(results)}.")
    predictions = store_path(results).parent / (row.get("predictions") or {}).get("file", "?")
    ok = row["status"] == "ok" and row["value"] is not None and math.isfinite(row["value"]) and predictions.is_file()
    say(f"row: {row['model']} width {run['width']} {row['feature_view']} {row['probe']} {row['metric']} = {row['value']} "
        f"({row['status']}), predictions {predictions}, {seconds:.0f} s here")
    comparison = compare_features(folder, members)
    device_rows = [json.loads(line) for line in members.get("results/results.jsonl", b"").splitlines() if line.strip()]
    device_acc = next((r["value"] for r in device_rows if r.get("metric") == "acc" and r.get("status") == "ok"), None)
    say(f"the device's own svm row (features and solver on the device): acc {device_acc}")
    record = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), **info["measurements"],
              "row": {k: row[k] for k in ("metric", "value", "status", "model_config_hash", "job_key")},
              "device_row_acc": device_acc, "features_vs_device": comparison, "model_folder": folder.name}
    with open(args.record, "a") as f:
        f.write(json.dumps(record) + "\n")
    say(f"measurements appended to {args.record}")
    if not ok:
        raise Refused(f"the row of {folder.name} is {row['status']} ({row.get('error')}); see the output above.")


def place(folder: Path, weights: bytes, members: dict, meta: dict) -> None:
    """The weights, meta.json and log.jsonl into the model's cache folder; an entry already there must be this one."""
    digest = hashlib.sha256(weights).hexdigest()
    recorded = (meta.get("files") or {}).get("weights.safetensors") or {}
    if recorded.get("sha256") != digest:
        raise Refused(f"meta.json from the device records weights {recorded.get('sha256')}, the joined file is {digest}.")
    target = folder / "weights.safetensors"
    if target.is_file():
        if hashlib.sha256(target.read_bytes()).hexdigest() != digest:
            raise Refused(f"{target}: other trained weights are already there; move that folder away to place these.")
        say(f"{target}: these weights are already in place")
        return
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("checkpoint.pt", "meta.json", "log.jsonl"):  # a training begun here: kept, out of the way
        if (folder / name).exists():
            aside = folder / f"{name}.before-gpu-{int(time.time())}"
            (folder / name).replace(aside)
            say(f"{folder / name}: a training begun here; moved to {aside.name}")
    for name, data in (("log.jsonl", members.get("log.jsonl", b"")), ("meta.json", members["meta.json"]),
                       ("weights.safetensors", weights)):
        tmp = folder / f"{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(folder / name)


def the_row(rows: list[dict], key: str) -> dict | None:
    """The latest svm `acc` row of the model ``key``, view `d`."""
    mine = [r for r in rows if r.get("model_config_hash") == key and r.get("probe") == "svm"
            and r.get("feature_view") == "d" and r.get("metric") in ("acc", None)]
    return mine[-1] if mine else None


def compare_features(folder: Path, members: dict) -> dict | None:
    """The CPU's `d` features of the first test images against the device's: the largest difference over the scale."""
    if "features-sample.npy" not in members:
        say("no features sample came back (the device's probe did not get that far): features not compared")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "s.npy").write_bytes(members["features-sample.npy"])
        theirs = np.load(Path(tmp) / "s.npy")
    found = sorted(folder.glob("features/final-*/*-float32-cpu/d-test.npy"))
    ours = np.array(np.load(found[0], mmap_mode="r")[:len(theirs)]) if found else None
    if ours is None or ours.shape != theirs.shape:
        say("the CPU's cached `d` test features were not found: features not compared")
        return None
    worst = float(np.abs(ours - theirs).max() / max(float(np.abs(ours).max()), 1e-12))
    say(f"`d` features of {len(ours)} test images, CPU against the device: largest difference {worst:.2e} of their scale")
    return {"rows": len(ours), "max_abs_diff_over_scale": worst}


# -- smoke (here, CPU) -------------------------------------------------------------------------------------------------

def write_tiny_cifar(folder: Path, per_batch: int = 20, seed: int = 0) -> Path:
    """Six tiny batches in the official binary format: smooth colour images (they compress, as photos do) and
    labels 0-9 in turn."""
    rng = np.random.default_rng(seed)
    target = folder / "cifar-10-batches-bin"
    target.mkdir(parents=True, exist_ok=True)
    ramp = np.linspace(0, 1, 32)
    for name in BATCHES:
        records = np.zeros((per_batch, RECORD), np.uint8)
        records[:, 0] = np.arange(per_batch) % 10
        for i in range(per_batch):
            base = rng.uniform(40, 200, 3)[:, None, None] + 50 * rng.uniform(-1, 1, 3)[:, None, None] * ramp[None, :, None]
            noise = rng.normal(0, 6, (3, 32, 32))
            records[i, 1:] = np.clip(base + noise + 30 * ramp[None, None, :], 0, 255).astype(np.uint8).ravel()
        records.tofile(target / name)
    return folder


def smoke(args) -> None:
    """pack -> stash -> device -> send -> home on the CPU, tiny, in ``--work`` (a temporary folder by default)."""
    work = Path(args.work or tempfile.mkdtemp(prefix="paper-width-smoke-")).resolve()
    data = Path(args.data).resolve() if args.data else write_tiny_cifar(work / "data")
    here, there = work / "here" / CARRY, work / "device" / CARRY
    blocker = work / "device-python"  # what the device image lacks is not importable in the device's steps
    blocker.mkdir(parents=True, exist_ok=True)
    (blocker / "sitecustomize.py").write_text(
        f"import sys\nfor name in {DEVICE_LACKS!r}:\n    sys.modules[name] = None  # not on the device\n")
    script = [sys.executable, str(Path(__file__).resolve())]

    def step(*arguments, on_device=False):
        say(f"\n== smoke: {' '.join(map(str, arguments))}")
        env = child_env([str(blocker)] if on_device else None)
        done = subprocess.run([*script, *map(str, arguments)], cwd=ROOT, env=env)
        if done.returncode:
            raise Refused(f"smoke: the step `{arguments[0]}` failed (exit code {done.returncode}); see above.")

    step("pack", "--data", data, "--carry", here, "--smoke", "--tree-mib", 0)
    calls = sorted(p.name for p in here.glob("call-*"))
    for call in calls:  # what the device tool does with carry=[".gpu-carry/call-N"]
        shutil.copytree(here / call, there / call)
        step("stash", "--carry", there, on_device=True)
    outs = [work / "out-1"]
    outs[0].mkdir(exist_ok=True)
    step("device", "--carry", there, "--out", outs[0], "--smoke", "--device", "cpu", "--width", 8, "--epochs", 2,
         "--batch-size", 32, "--checkpoint-every", 5, "--speed-widths", 8, 16, "--speed-steps", 3, "--speed-rounds", 1,
         "--reserve", 0, "--back-reserve", 0, on_device=True)
    sent = lambda: set(read_json(there / "work" / "back" / "sent.json", "sent list")["sent"])  # noqa: E731
    total = {p["file"] for f in read_json(there / "work" / "back" / "back.json", "back")["files"].values() for p in f["parts"]}
    while sent() != total:
        outs.append(work / f"out-{len(outs) + 1}")
        outs[-1].mkdir(exist_ok=True)
        step("send", "--carry", there, "--out", outs[-1], "--smoke", on_device=True)
    step("home", "--back", *outs, "--data-root", data, "--cache-dir", work / "home-cache",
         "--results", args.results or work / "results", "--record", work / "record.jsonl")
    say(f"\nsmoke: done in {work} ({len(calls)} carry call(s), {len(outs)} back call(s))")


# -- the command line ---------------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    carry = lambda p: p.add_argument("--carry", default=str(ROOT / CARRY), help="the carry folder [.gpu-carry]")  # noqa: E731

    p = sub.add_parser("pack", help="here: the batches in parts, and the calls to make")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "cifar-10"))
    carry(p)
    p.add_argument("--tree-mib", type=float, help="size of the working tree that travels [measured with git]")
    p.add_argument("--seconds", type=int, default=540, help="the device call's own deadline, under its 600 s")
    p.add_argument("--smoke", action="store_true", help="the smoke test's limits; no official md5s")

    for name, text in (("stash", "there, each call: keep the carried parts"), ("send", "there: the next back parts")):
        p = sub.add_parser(name, help=text)
        carry(p)
        p.add_argument("--out", help="[$OUT]")
        p.add_argument("--smoke", action="store_true")

    p = sub.add_parser("unpack", help="there: join and check the parts (device does this first)")
    carry(p)
    p.add_argument("--smoke", action="store_true", help="no official md5s (tiny files)")

    p = sub.add_parser("device", help="there, one call: tests, throughput, training, back parts in $OUT")
    carry(p)
    p.add_argument("--out", help="[$OUT]")
    p.add_argument("--seconds", type=float, default=540, help="this call's deadline, under the tool's timeout_s")
    p.add_argument("--device", default="cuda")
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--epochs", default="fit", help="fit (25 if they fit the call, else as many as do) or a number")
    p.add_argument("--batch-size", type=int, default=None, help="[the model's: 128]")
    p.add_argument("--checkpoint-every", type=int, default=1000)
    p.add_argument("--speed-widths", type=int, nargs="+", default=[64, 256])
    p.add_argument("--speed-steps", type=int, default=200)
    p.add_argument("--speed-rounds", type=int, default=2)
    p.add_argument("--reserve", type=float, default=120, help="seconds kept after training (features, svm, back)")
    p.add_argument("--back-reserve", type=float, default=30, help="seconds kept to write the back parts")
    p.add_argument("--skip-tests", action="store_true")
    p.add_argument("--skip-speed", action="store_true")
    p.add_argument("--smoke", action="store_true")

    p = sub.add_parser("home", help="here: join, check, place, probe")
    p.add_argument("--back", nargs="+", required=True, help="the files_at folders of the device and send calls")
    p.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data" / "cifar-10"))
    p.add_argument("--cache-dir", default=None, help="[$GANBENCH_CACHE or ~/.cache/ganbench, as ganbench run]")
    p.add_argument("--results", default="ganbench-results")
    p.add_argument("--record", default=str(ROOT / "benchmarks" / "gpu" / "paper_width.jsonl"))

    p = sub.add_parser("smoke", help="here, CPU: every step, tiny")
    p.add_argument("--data", help="a CIFAR-10 binary folder [tiny batches made here]")
    p.add_argument("--work", help="[a temporary folder]")
    p.add_argument("--results", help="the store the row goes to [WORK/results]")

    args = parser.parse_args(argv)
    try:
        if args.command == "pack":
            check_ignored(ROOT, Path(args.carry))
            tree = int(args.tree_mib * MiB) if args.tree_mib is not None else tree_bytes(ROOT)
            calls = pack(Path(args.data), Path(args.carry), SMOKE if args.smoke else DEVICE, tree, official=not args.smoke)
            print_calls(calls, args.seconds)
        elif args.command == "stash":
            stash(Path(args.carry))
        elif args.command == "unpack":
            unpack(Path(args.carry), official=not args.smoke)
        elif args.command == "device":
            device(args)
        elif args.command == "send":
            send(Path(args.carry), args.out, SMOKE if args.smoke else DEVICE)
        elif args.command == "home":
            home(args)
        else:
            smoke(args)
    except Refused as exc:
        print(f"paper_width.py {args.command}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # this checkout's ganbench, also where it is not installed (the device)
    sys.exit(main())
