"""Speed, accuracy and memory of the ``svm`` probe's solver.

Two benchmarks, figures appended as JSON lines to ``--out`` (default
``benchmarks/svm_speed.jsonl``) and summarised in ``benchmarks/svm_speed.md``:

``mnist``
    Full MNIST, raw pixels / 255, standardized with the statistics of the
    60,000 training images; the torch solver and scikit-learn's ``LinearSVC``
    fit the same objective at the same C in one process, one after the other,
    each at its default tolerance (torch: relative duality gap 1e-3;
    LinearSVC: tol=1e-4 on liblinear's gradient test). Reports seconds, their ratio, train/test accuracy, the
    objective of each solution and the relative distance between weights.

``large``
    50,000 x 28,672 float32 features, the DCGAN §5.1 feature size: random
    ReLU features of real MNIST digits, ``relu(pixels @ R)`` with a fixed
    Gaussian ``R`` (784 x 28,672), for the first 50,000 training and all
    10,000 test images (so the class structure is MNIST's). The whole probe
    runs on them with its default options (validation split, C grid walk,
    refit, test). Reports minutes, the chosen C, test accuracy and the
    peak resident memory (``resource.getrusage``), next to the bytes the
    feature arrays themselves take.

``products``
    The two products with the data each solver iteration makes, for a thin
    (10, N) residual ``r`` and (D, 10) weights ``u`` against an (N, D)
    float32 ``x``: ``r @ x`` through torch and through numpy's BLAS (the
    solver uses numpy's on the CPU), and ``x @ u`` against ``(u.T @ x.T).T``
    (the solver uses the first). Median of ``--repeats`` timings each, at
    MNIST's shape and at ``--n-train`` x ``--dim``.

``conditioning``
    Iterations of one solve from zero to a relative duality gap of 1e-2 at
    C = 1e-3 and 1e-2, for L-BFGS memory 10 and 30 without preconditioner
    and 30 with preconditioner ranks 100 and 200, on ``--n-train`` x
    ``--dim`` random ReLU features as in ``large``; plus the top eigenvalues
    of the standardized Gram matrix.

Usage::

    python benchmarks/svm_speed.py mnist --c 0.01 --threads 2
    python benchmarks/svm_speed.py large --threads 2
    python benchmarks/svm_speed.py products --threads 2 --n-train 20000
    python benchmarks/svm_speed.py conditioning --threads 2 --n-train 20000 --dim 7168

On a machine shared with other jobs, timings move with the load; the ratio
is measured in one run so both solvers see the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np
import torch

MNIST = str(Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist")  # ../shared beside the clone
LARGE_DIM = 28672
LARGE_TRAIN = 50000


def peak_rss_gib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def mnist_pixels(root: str):
    from ganbench.builtin.datasets.mnist.loader import load_mnist

    ds = load_mnist(root)
    as_pixels = lambda images: images.flatten(1).float().div_(255.0).numpy()  # noqa: E731
    return as_pixels(ds.train_x), ds.train_y, as_pixels(ds.test_x), ds.test_y


def run_mnist(args) -> dict:
    from ganbench.builtin.probes.svm.solver import SklearnOvR, SquaredHingeOvR, as_tensor, objective

    train_x, train_y, test_x, test_y = mnist_pixels(args.data)
    if args.subsample:
        train_x, train_y = train_x[: args.subsample], train_y[: args.subsample]
    x, xt = as_tensor(train_x), as_tensor(test_x)
    row = {"benchmark": "mnist", "c": args.c, "tol": args.tol, "sklearn_tol": args.sklearn_tol,
           "n_train": len(train_x), "dim": x.shape[1]}
    fits = {}
    for name, solver, tol in (("torch", SquaredHingeOvR, args.tol), ("sklearn", SklearnOvR, args.sklearn_tol)):
        started = time.perf_counter()
        model = solver(x, train_y, 10, tol=tol, max_iter=args.max_iter, log=print).solve(args.c)
        seconds = time.perf_counter() - started
        fits[name] = model
        row[name] = {"seconds": round(seconds, 2), "iterations": model.iterations,
                     "train_acc": model.accuracy(x, train_y), "test_acc": model.accuracy(xt, test_y)}
        print(name, row[name], flush=True)
    z = fits["torch"].stats.transform(x)  # both solvers' statistics are the training split's
    for name, model in fits.items():
        row[name]["objective"] = float(objective(model, z, train_y).sum())
    ours, reference = fits["torch"], fits["sklearn"]
    row["speedup"] = round(row["sklearn"]["seconds"] / row["torch"]["seconds"], 2)
    row["test_acc_diff_points"] = round(100 * (row["torch"]["test_acc"] - row["sklearn"]["test_acc"]), 3)
    row["objective_rel_diff"] = (row["torch"]["objective"] - row["sklearn"]["objective"]) / row["sklearn"]["objective"]
    distance = torch.linalg.norm(ours.weight - reference.weight)
    row["weight_rel_diff"] = float(distance / torch.linalg.norm(reference.weight))
    return row


def random_relu_features(pixels: np.ndarray, projection: torch.Tensor, block: int = 2048) -> np.ndarray:
    """``relu(pixels @ projection)`` written block by block into one float32 array (no float64, no copy)."""
    out = np.empty((len(pixels), projection.shape[1]), dtype=np.float32)
    for start in range(0, len(pixels), block):
        chunk = torch.from_numpy(pixels[start : start + block]) @ projection
        out[start : start + block] = chunk.clamp_min_(0).numpy()
    return out


def random_projection(dim: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(784, dim, generator=generator) / np.sqrt(784)


def run_large(args) -> dict:
    import ganbench
    from ganbench.builtin.probes.svm import probe as svm
    train_x, train_y, test_x, test_y = mnist_pixels(args.data)
    projection = random_projection(args.dim)
    started = time.perf_counter()
    features = {"train": random_relu_features(train_x[: args.n_train], projection),
                "test": random_relu_features(test_x, projection)}
    labels = {"train": train_y[: args.n_train], "test": test_y}
    feature_seconds = time.perf_counter() - started
    feature_gib = sum(f.nbytes for f in features.values()) / 2**30
    rss_before = peak_rss_gib()
    print(f"features: {feature_gib:.2f} GiB in {feature_seconds:.0f} s; peak RSS so far {rss_before:.2f} GiB",
          flush=True)

    images = lambda n: torch.zeros(n, 1, 1, 1, dtype=torch.uint8)  # noqa: E731  (the probe reads features only)
    dataset = ganbench.Dataset("mnist-random-relu", images(len(labels["train"])), labels["train"],
                               images(len(labels["test"])), labels["test"], [str(d) for d in range(10)])
    unused = lambda *a: None  # noqa: E731
    ctx = ganbench.ProbeContext(dataset, "random-relu", 0, torch.device(args.device), Path("/tmp"), None,
                                features.__getitem__, unused, unused, log=lambda m: print(m, flush=True))
    options = {o.name: o.default for o in svm.OPTIONS}
    started = time.perf_counter()
    metrics = svm.SVM(**options).run(ctx)
    minutes = (time.perf_counter() - started) / 60
    acc = next(m for m in metrics if m.name == "acc")
    return {"benchmark": "large", "n_train": args.n_train, "dim": args.dim, "device": args.device,
            "probe_minutes": round(minutes, 2), "feature_seconds": round(feature_seconds, 1),
            "feature_gib": round(feature_gib, 2), "peak_rss_gib_before_probe": round(rss_before, 2),
            "peak_rss_gib": round(peak_rss_gib(), 2), "test_acc": acc.value, "details": acc.details}


def run_conditioning(args) -> dict:
    from ganbench.builtin.probes.svm.solver import Spectrum, SquaredHingeOvR, as_tensor

    train_x, train_y, _, _ = mnist_pixels(args.data)
    x = as_tensor(random_relu_features(train_x[: args.n_train], random_projection(args.dim)))
    labels = train_y[: args.n_train]
    row = {"benchmark": "conditioning", "n_train": len(x), "dim": args.dim, "tol": 1e-2, "solves": []}
    for c in (1e-3, 1e-2):
        for memory, rank in ((10, 0), (30, 0), (30, 100), (30, 200)):
            started = time.perf_counter()
            model = SquaredHingeOvR(x, labels, 10, tol=1e-2, memory=memory, rank=rank).solve(c)
            solve = {"c": c, "memory": memory, "rank": rank, "iterations": model.iterations,
                     "seconds": round(time.perf_counter() - started, 1)}
            print(solve, flush=True)
            row["solves"].append(solve)
    solver = SquaredHingeOvR(x, labels, 10, rank=0)
    spectrum = Spectrum.top(solver._gram_times, args.dim, len(x), 200, x.device, power_iterations=3)
    row["eigenvalues"] = {str(i + 1): round(float(spectrum.values[i]), 1) for i in (0, 9, 49, 99, 199)}
    row["gram_trace"] = round(float(args.dim * len(x)), 1)  # standardized: every column has sum of squares N
    return row


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def run_products(args) -> dict:
    shapes = {"mnist": (60000, 784), "large": (args.n_train, args.dim)}
    generator = torch.Generator().manual_seed(0)
    row = {"benchmark": "products", "repeats": args.repeats}
    for name, (n, d) in shapes.items():
        x = torch.rand(n, d, generator=generator)
        r = torch.randn(10, n, generator=generator)
        u = torch.randn(d, 10, generator=generator)
        x_np, r_np = x.numpy(), r.numpy()
        timings = {
            "r_x_torch": median_seconds(lambda: r @ x, args.repeats),
            "r_x_numpy": median_seconds(lambda: r_np @ x_np, args.repeats),
            "x_u": median_seconds(lambda: x @ u, args.repeats),
            "u_t_x_t": median_seconds(lambda: (u.T @ x.T).T, args.repeats),
        }
        row[name] = {"n": n, "dim": d, **{k: round(v, 4) for k, v in timings.items()},
                     "r_x_numpy_speedup": round(timings["r_x_torch"] / timings["r_x_numpy"], 2),
                     "x_u_speedup": round(timings["u_t_x_t"] / timings["x_u"], 2)}
        print(name, row[name], flush=True)
        del x, r, u, x_np, r_np
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", choices=("mnist", "large", "products", "conditioning"))
    parser.add_argument("--data", default=MNIST, help="folder of the MNIST IDX files")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--c", type=float, default=0.01, help="mnist: the C both solvers use")
    parser.add_argument("--tol", type=float, default=1e-3, help="mnist: the torch solver's tolerance (relative "
                        "duality gap; the probe's default)")
    parser.add_argument("--sklearn-tol", type=float, default=1e-4, help="mnist: LinearSVC's tol (its default)")
    parser.add_argument("--max-iter", type=int, default=1000, help="mnist: iteration limit of both solvers")
    parser.add_argument("--subsample", type=int, default=0, help="mnist: first N training images only (0 = all)")
    parser.add_argument("--n-train", type=int, default=LARGE_TRAIN, help="large, products, conditioning: training examples")
    parser.add_argument("--dim", type=int, default=LARGE_DIM, help="large, products, conditioning: feature dimension")
    parser.add_argument("--device", default="cpu", help="large: device the probe runs on")
    parser.add_argument("--repeats", type=int, default=5, help="products: timings per product (median kept)")
    parser.add_argument("--out", default=str(Path(__file__).with_name("svm_speed.jsonl")))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    runs = {"mnist": run_mnist, "large": run_large, "products": run_products, "conditioning": run_conditioning}
    row = runs[args.which](args)
    row.update(threads=args.threads, cpu_count=os.cpu_count(), machine=platform.processor() or platform.machine(),
               torch_version=torch.__version__, when=time.strftime("%Y-%m-%d %H:%M:%S"),
               load_average=os.getloadavg(), omp_wait_policy=os.environ.get("OMP_WAIT_POLICY"))
    print(json.dumps(row, indent=1))
    with open(args.out, "a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
