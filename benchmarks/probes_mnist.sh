#!/bin/bash
# The probe plugins' acceptance runs on full MNIST (recorded in benchmarks/probes_mnist.md).
# Reuses the checkpoints of benchmarks/models_mnist.sh (same options, same cache: no training here)
# and appends the rows to the result store.
# Usage: benchmarks/probes_mnist.sh [RESULTS_DIR] [CACHE_DIR] [svm|memorization|all]   (MNIST in $MNIST_ROOT)
set -eu
cd "$(dirname "$0")/.."
RESULTS=${1:-results/reference}
CACHE=${2:-/tmp/models-cache-mnist}
MNIST_ROOT=${MNIST_ROOT:-../shared/data/mnist}
PART=${3:-all}
GANBENCH=${GANBENCH:-.venv/bin/ganbench}
common=(--dataset mnist --data-root "$MNIST_ROOT" --results "$RESULTS" --cache-dir "$CACHE" --device cpu)

if [[ $PART == all || $PART == svm ]]; then
echo "== svm, all 60,000 labels (DCGAN §5.1 protocol; the published LinearSVC figure on pixels is 0.917)"
"$GANBENCH" run --model pixels --probe svm "${common[@]}"
"$GANBENCH" run --model random-d --model-opt width=16 --probe svm "${common[@]}"
"$GANBENCH" run --model dcgan --epochs 2 --model-opt width=16 --probe svm "${common[@]}"
"$GANBENCH" run --model bigan --epochs 3 --probe svm --view e --view e-hidden "${common[@]}"

echo "== svm with 1,000 labels, 10 draws (ALI / DCGAN §5.2 label budget)"
budget=(--probe-opt labels_per_class=100 --probe-opt repeats=10)
"$GANBENCH" run --model pixels --probe svm "${budget[@]}" "${common[@]}"
"$GANBENCH" run --model dcgan --epochs 2 --model-opt width=16 --probe svm --view d "${budget[@]}" "${common[@]}"
"$GANBENCH" run --model bigan --epochs 3 --probe svm --view e "${budget[@]}" "${common[@]}"

fi

if [[ $PART == all || $PART == memorization ]]; then
echo "== memorization (needs a generator)"
"$GANBENCH" run --model dcgan --epochs 2 --model-opt width=16 --probe memorization "${common[@]}"
"$GANBENCH" run --model bigan --epochs 3 --probe memorization "${common[@]}"

fi

"$GANBENCH" leaderboard "$RESULTS" --format md
