#!/bin/bash
# The model plugins' acceptance runs (recorded in benchmarks/models_mnist.md).
# CPU schedule for a 2-core machine shared with other work: DCGAN-family nets at
# width 16 for 2 epochs, BiGAN with the paper's MLPs for 3 epochs; one run at a time.
# Usage: benchmarks/models_mnist.sh [RESULTS_DIR] [CACHE_DIR]   (MNIST IDX files in $MNIST_ROOT)
set -u
cd "$(dirname "$0")/.."
RESULTS=${1:-/tmp/models-results-mnist}
CACHE=${2:-/tmp/models-cache-mnist}
MNIST_ROOT=${MNIST_ROOT:-../shared/data/mnist}
GANBENCH=${GANBENCH:-.venv/bin/ganbench}

echo "== smoke: every model on mnist-5k, 20 steps"
for model in dcgan acgan bigan ortho; do
    "$GANBENCH" run --model "$model" --probe knn --dataset mnist-5k --max-steps 20 \
        --results "$RESULTS-5k" --cache-dir "$CACHE-5k" --device cpu
done

echo "== full MNIST"
common=(--dataset mnist --data-root "$MNIST_ROOT" --results "$RESULTS" --cache-dir "$CACHE" --device cpu --probe knn)
"$GANBENCH" run --model dcgan --epochs 2 --model-opt width=16 "${common[@]}"
"$GANBENCH" run --model random-d --model-opt width=16 "${common[@]}"
"$GANBENCH" run --model ortho --epochs 2 --model-opt width=16 "${common[@]}"
"$GANBENCH" run --model bigan --epochs 3 "${common[@]}"
"$GANBENCH" leaderboard "$RESULTS" --format md
