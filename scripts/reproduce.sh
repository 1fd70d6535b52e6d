#!/usr/bin/env bash
# Check that the committed results come out again: clone this repository (its HEAD), run the
# main job (`dvc repro` on the embedded sample) in the clone with the active environment, and
# compare every committed metric and per-image table with the fresh run's
# (scripts/reproduce_compare.py says what is compared and what is left out).
#
#   . .venv/bin/activate && bash scripts/reproduce.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git clone -q . "$tmp/clone"
(cd "$tmp/clone" && dvc repro)
git archive HEAD eval runs | tar -x -C "$tmp" --one-top-level=committed
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" python scripts/reproduce_compare.py "$tmp/committed" "$tmp/clone"
