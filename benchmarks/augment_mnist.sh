#!/usr/bin/env bash
# The augment probe (plugins/ganbench-augment) on full MNIST at 100 labels per class:
# a classifier on 1,000 real labels alone, and with 1,000 dcgan samples labelled as an
# extra class, by argmax, or uniformly (LSRO). Figures: benchmarks/augment_mnist.md.
#
# Defaults are the short CPU run recorded there (a width-16 dcgan stopped after MAX_STEPS
# steps of 128 images; the CPU was shared). For the long-trained model set WIDTH=64
# MAX_STEPS= EPOCHS= (empty: dcgan's own 25-epoch schedule), and MODEL=wgan-gp for the
# WGAN-GP row (EPOCHS=7: the 7 epochs that fitted); a model trained before with the same
# settings is reused from the cache.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA_ROOT=${DATA_ROOT:-../shared/data/mnist}
RESULTS=${RESULTS:-$(mktemp -d)}
CACHE=${CACHE:-${GANBENCH_CACHE:-.ganbench-cache}}
MODEL=${MODEL:-dcgan}
WIDTH=${WIDTH:-16}
EPOCHS=${EPOCHS-1}
MAX_STEPS=${MAX_STEPS-150}
DRAWS=${DRAWS:-3}
MAX_EPOCHS=${MAX_EPOCHS:-60}
AT_EPOCH=${AT_EPOCH:-}
BN_STATISTICS=${BN_STATISTICS:-real}  # mixed: the running statistics, as versions 1-2 scored

schedule=()
if [ -n "$EPOCHS" ]; then schedule+=(--epochs "$EPOCHS"); fi
if [ -n "$MAX_STEPS" ]; then schedule+=(--max-steps "$MAX_STEPS"); fi
if [ -n "$AT_EPOCH" ]; then schedule+=(--at-epoch "$AT_EPOCH"); fi

ganbench run --model "$MODEL" --model-opt width="$WIDTH" --dataset mnist --data-root "$DATA_ROOT" "${schedule[@]}" \
    --probe augment --probe-opt labels_per_class=100 --probe-opt draws="$DRAWS" --probe-opt ratio=1 \
    --probe-opt max_epochs="$MAX_EPOCHS" --probe-opt bn_statistics="$BN_STATISTICS" --cache-dir "$CACHE" --results "$RESULTS"
echo "rows in $RESULTS/results.jsonl"
