#!/usr/bin/env bash
# The paper-reproduction runs behind benchmarks/fidelity.md (issue: reproduce the papers on
# MNIST and Fashion-MNIST). Rows go to the committed reference store, results/reference/.
#
#   bash benchmarks/fidelity.sh train      # the long trainings (resume from their checkpoints)
#   bash benchmarks/fidelity.sh probe      # every probe on what has been trained so far
#   bash benchmarks/fidelity.sh curves     # learning curves from the training snapshots
#   bash benchmarks/fidelity.sh heldout    # BiGAN under the authors' split (10,000 training images as test)
#   bash benchmarks/fidelity.sh paper      # BiGAN's full 400 epochs (~12 h of a core; call again to resume)
#   bash benchmarks/fidelity.sh fashion    # BiGAN and the untrained D on Fashion-MNIST
#   bash benchmarks/fidelity.sh seeds      # the extra seeds measured so far (cheap runs, 50-epoch BiGAN)
#
# SEEDS="0 1 2" runs every step for those seeds (default: 0). Models are cached under
# $GANBENCH_CACHE (default ~/.cache/ganbench): a second call loads them, an interrupted
# training resumes. Every command is an ordinary `ganbench run`.
set -euo pipefail
cd "$(dirname "$0")/.."

MNIST=${MNIST:-../shared/data/mnist}
FASHION=${FASHION:-/usr/share/datasets/fashion-mnist}
STORE=${STORE:-results/reference}
SEEDS=${SEEDS:-0}

# The schedules. BiGAN's MLPs: 100 of the paper's 400 epochs, the same shape (constant rate for
# the first half, then exponential decay to 1%, spread over the 100): 400 epochs are ~13 h on
# 2 CPU cores. DCGAN at the paper's width 64 for its 25 epochs. AC-GAN: 5 of its 84 epochs
# (50,000 steps of 100), at ~90 images/s on one core the whole schedule is ~17 h.
BIGAN=(--model bigan --dataset mnist --data-root "$MNIST" --epochs 100)
DCGAN=(--model dcgan --model-opt width=64 --dataset mnist --data-root "$MNIST" --epochs 25)
ORTHO=(--model ortho --model-opt width=64 --dataset mnist --data-root "$MNIST" --epochs 25)
ACGAN=(--model acgan --model-opt width=64 --dataset mnist --data-root "$MNIST" --epochs 5)
RANDOM_D=(--model random-d --model-opt width=64 --dataset mnist --data-root "$MNIST")
# The paper's own BiGAN schedule: 200 epochs at the constant rate, 200 decaying. Its first 50
# epochs are those of the 100-epoch run (same seed, same data order, same constant rate).
BIGAN_PAPER=(--model bigan --dataset mnist --data-root "$MNIST" --epochs 400)
# Fashion-MNIST: BiGAN's MLPs on the 50-epoch shape (25 + 25), and the untrained D beside it
BIGAN_FASHION=(--model bigan --dataset fashion-mnist --data-root "$FASHION" --epochs 50)
RANDOM_D_FASHION=(--model random-d --model-opt width=64 --dataset fashion-mnist --data-root "$FASHION")
# BiGAN's own starting point: its networks one optimizer step from their initial weights
BIGAN_START=(--model bigan --dataset mnist --data-root "$MNIST" --max-steps 1)
BIGAN_START_FASHION=(--model bigan --dataset fashion-mnist --data-root "$FASHION" --max-steps 1)
ONE_NN=(--probe knn --probe-opt k=1 --probe-opt metric=l2)
# The label-budget protocol: 100 labels per class, 10 seeded draws, C chosen on a validation
# split of the training images, mean and standard error over the draws.
BUDGET=(--probe svm --probe-opt labels_per_class=100 --probe-opt repeats=10)
# E(x) is 50-dimensional: C chose the grid's top (1.0) there, so its grid goes higher.
WIDE_C=(--probe-opt "c_grid=1e-5,1e-4,1e-3,1e-2,0.1,1,10,100")

seeds() { for s in $SEEDS; do printf -- '--seed %s ' "$s"; done; }
run() { ganbench run --results "$STORE" $(seeds) "$@"; }
# a BiGAN's weights under every probe of the 100-epoch run's probe step
every_probe() {
  run "$@" --probe knn --view e --view e-hidden --view d --view d-joint
  run "$@" --probe svm --view e-hidden --view d
  run "$@" "${BUDGET[@]}" --view e-hidden --view d
}

case "${1:-}" in
  train)
    run "${BIGAN[@]}" "${ONE_NN[@]}" --view e --view e-hidden --view d
    run "${DCGAN[@]}" --probe knn --view d
    run "${ACGAN[@]}" --probe knn --view d
    ;;
  probe)
    # raw-pixel baselines (Fashion-MNIST paper: LinearSVC 0.917 / 0.836, kNN 0.959 / 0.854)
    run --model pixels --dataset mnist --data-root "$MNIST" --probe knn --probe svm
    run --model pixels --dataset mnist --data-root "$MNIST" "${BUDGET[@]}"
    run --model pixels --dataset fashion-mnist --data-root "$FASHION" --probe knn --probe svm
    # BiGAN (Table 1: 1-NN 97.39 on E's last hidden layer, 97.30 on D)
    run "${BIGAN[@]}" --probe knn --view e --view e-hidden --view d --view d-joint
    run "${BIGAN[@]}" --probe svm --view e-hidden --view d
    run "${BIGAN[@]}" --probe svm "${WIDE_C[@]}" --view e
    run "${BIGAN[@]}" "${BUDGET[@]}" --view e-hidden --view d
    # DCGAN's D, its untrained twin, the same D with the real/fake direction removed, AC-GAN's D
    run "${DCGAN[@]}" --probe knn --probe svm --view d
    run "${DCGAN[@]}" "${BUDGET[@]}" --view d
    run "${RANDOM_D[@]}" --probe knn --probe svm --view d
    run "${RANDOM_D[@]}" "${BUDGET[@]}" --view d
    run "${ORTHO[@]}" --probe knn --probe svm --view d-last --view d-last-rank1 --view d-last-inlp
    run "${ACGAN[@]}" --probe knn --probe svm --view d
    run "${ACGAN[@]}" "${BUDGET[@]}" --view d
    run "${BIGAN_START[@]}" --probe knn --probe svm --view e --view e-hidden --view d
    run "${BIGAN_START[@]}" --probe svm "${WIDE_C[@]}" --view d
    run "${BIGAN_START[@]}" "${BUDGET[@]}" --view e-hidden --view d
    ;;
  curves)
    for epoch in 1 2 5 10 20 50; do
      run "${BIGAN[@]}" --at-epoch "$epoch" "${ONE_NN[@]}" --view e --view e-hidden --view d
    done
    for epoch in 1 2 5 10 20; do
      run "${DCGAN[@]}" --at-epoch "$epoch" "${ONE_NN[@]}" --view d
    done
    for epoch in 1 2; do
      run "${ACGAN[@]}" --at-epoch "$epoch" "${ONE_NN[@]}" --view d
    done
    python benchmarks/learning_curves.py "$STORE" --output benchmarks/learning_curves
    ;;
  heldout)
    # the authors' code trains on 50,000 training images and tests on the other 10,000; 50 epochs,
    # beside the 50-epoch run on the official split (the split's effect on the features themselves)
    run --model bigan --dataset mnist --data-root "$MNIST" --epochs 50 --dataset-opt test=heldout "${ONE_NN[@]}" \
        --view e --view e-hidden --view d
    for epoch in 1 5 20; do  # the epochs the authors' own curve can be read against (same split, same phase)
      run --model bigan --dataset mnist --data-root "$MNIST" --epochs 50 --dataset-opt test=heldout --at-epoch "$epoch" \
          "${ONE_NN[@]}" --view e --view e-hidden
    done
    run --model pixels --dataset mnist --data-root "$MNIST" --dataset-opt test=heldout "${ONE_NN[@]}"
    ;;
  paper)
    run "${BIGAN_PAPER[@]}" "${ONE_NN[@]}" --view e --view e-hidden --view d
    every_probe "${BIGAN_PAPER[@]}"
    # 50: the 100-epoch run's file, byte for byte (it starts this schedule's line in the curves);
    # 100, 200: the constant rate's middle and end, beside the authors' epoch-200 line
    for epoch in 50 100 200; do
      run "${BIGAN_PAPER[@]}" --at-epoch "$epoch" "${ONE_NN[@]}" --view e --view e-hidden --view d
    done
    every_probe "${BIGAN_PAPER[@]}" --at-epoch 200  # the end of the constant rate
    ;;
  fashion)
    run "${BIGAN_FASHION[@]}" "${ONE_NN[@]}" --view e --view e-hidden --view d
    run "${BIGAN_FASHION[@]}" --probe knn --probe svm --view e-hidden --view d
    run "${BIGAN_FASHION[@]}" --probe svm "${WIDE_C[@]}" --view d  # C chose the grid's top (1.0) on d
    run "${BIGAN_FASHION[@]}" "${BUDGET[@]}" --view e-hidden --view d
    run "${RANDOM_D_FASHION[@]}" --probe knn --probe svm --view d
    run "${RANDOM_D_FASHION[@]}" "${BUDGET[@]}" --view d
    run --model pixels --dataset fashion-mnist --data-root "$FASHION" "${BUDGET[@]}"
    run "${BIGAN_START_FASHION[@]}" --probe knn --probe svm --view e --view e-hidden --view d
    run "${BIGAN_START_FASHION[@]}" --probe svm "${WIDE_C[@]}" --view d
    run "${BIGAN_START_FASHION[@]}" "${BUDGET[@]}" --view e-hidden --view d
    for epoch in 1 2 5 10 20; do
      run "${BIGAN_FASHION[@]}" --at-epoch "$epoch" "${ONE_NN[@]}" --view e --view e-hidden --view d
    done
    python benchmarks/learning_curves.py "$STORE" --dataset fashion-mnist --output benchmarks/learning_curves_fashion
    ;;
  seeds)
    # seeds 1, 2 of the untrained baselines, of BiGAN's one-step start and of the 50-epoch BiGAN
    SEEDS="1 2"
    BIGAN_50=(--model bigan --dataset mnist --data-root "$MNIST" --epochs 50)
    run "${RANDOM_D[@]}" --probe knn --probe svm --view d
    run "${RANDOM_D_FASHION[@]}" --probe knn --probe svm --view d
    run "${BIGAN_START[@]}" "${ONE_NN[@]}" --view e --view e-hidden --view d
    run "${BIGAN_START_FASHION[@]}" "${ONE_NN[@]}" --view e --view e-hidden --view d
    run "${BIGAN_50[@]}" "${ONE_NN[@]}" --view e --view e-hidden --view d
    run "${BIGAN_50[@]}" --probe knn --view e --view e-hidden --view d --view d-joint
    ;;
  *) echo "usage: bash benchmarks/fidelity.sh train|probe|curves|heldout|paper|fashion|seeds" >&2; exit 2 ;;
esac
