#!/usr/bin/env bash
# The paper-reproduction runs behind benchmarks/fidelity.md (issue: reproduce the papers on
# MNIST and Fashion-MNIST). Rows go to the committed reference store, results/reference/.
#
#   bash benchmarks/fidelity.sh train      # the long trainings (resume from their checkpoints)
#   bash benchmarks/fidelity.sh probe      # every probe on what has been trained so far
#   bash benchmarks/fidelity.sh curves     # learning curves from the training snapshots
#
# Models are cached under $GANBENCH_CACHE (default ~/.cache/ganbench): a second call loads
# them, an interrupted training resumes. Every command is an ordinary `ganbench run`.
set -euo pipefail
cd "$(dirname "$0")/.."

MNIST=${MNIST:-../shared/data/mnist}
FASHION=${FASHION:-/usr/share/datasets/fashion-mnist}
STORE=${STORE:-results/reference}
SEEDS=${SEEDS:-0}

# The schedules: BiGAN's MLPs for 50 of the paper's 400 epochs (rate decay spread over the 50:
# the 400 do not fit on 2 CPU cores), DCGAN at the paper's width 64 for its 25 epochs.
BIGAN=(--model bigan --dataset mnist --data-root "$MNIST" --epochs 50)
DCGAN=(--model dcgan --model-opt width=64 --dataset mnist --data-root "$MNIST" --epochs 25)

seeds() { for s in $SEEDS; do printf -- '--seed %s ' "$s"; done; }
run() { ganbench run --results "$STORE" $(seeds) "$@"; }

case "${1:-}" in
  train)
    run "${BIGAN[@]}" --probe knn --view e
    run "${DCGAN[@]}" --probe knn --view d
    ;;
  probe)
    # raw-pixel baselines (Fashion-MNIST paper: LinearSVC 0.917 / 0.836, kNN 0.959 / 0.854)
    run --model pixels --dataset mnist --data-root "$MNIST" --probe knn --probe svm
    run --model pixels --dataset fashion-mnist --data-root "$FASHION" --probe knn --probe svm
    # BiGAN (Table 1: 1-NN E 97.39, D 97.30)
    run "${BIGAN[@]}" --probe knn --view e --view e-hidden --view d --view d-joint
    run "${BIGAN[@]}" --probe svm --view e --view d
    run "${BIGAN[@]}" --probe svm --probe-opt labels_per_class=100 --probe-opt repeats=10 --view e --view d
    # the untrained baseline at DCGAN's width
    run --model random-d --model-opt width=64 --dataset mnist --data-root "$MNIST" --probe knn --view d
    ;;
  curves)
    for epoch in 1 2 5 10 20; do
      run "${BIGAN[@]}" --at-epoch "$epoch" --probe knn --probe-opt k=1 --probe-opt metric=l2 --view e --view d
    done
    run "${BIGAN[@]}" --probe knn --probe-opt k=1 --probe-opt metric=l2 --view e --view d
    for epoch in 1 2 5 10 20; do
      run "${DCGAN[@]}" --at-epoch "$epoch" --probe knn --probe-opt k=1 --probe-opt metric=l2 --view d || true
    done
    python benchmarks/learning_curves.py "$STORE" --output benchmarks/learning_curves
    ;;
  *) echo "usage: bash benchmarks/fidelity.sh train|probe|curves" >&2; exit 2 ;;
esac
