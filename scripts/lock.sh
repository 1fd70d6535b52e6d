#!/usr/bin/env bash
# Regenerate constraints.txt, the lock of every package hqseg installs (direct and
# transitive, every extra of pyproject.toml), from a clean virtual environment.
#
#   bash scripts/lock.sh            # after adding or changing a dependency in pyproject.toml
#
# Only the pins below are chosen by hand (FACTS §6: the torch/torchvision pair that installs
# and runs on CPU here, and sam2, an sdist built against that torch); everything else is
# whatever pip resolves for them today. The install itself is scripts/install.sh, the same
# steps the README and CI use.
set -euo pipefail
cd "$(dirname "$0")/.."
HAND_PINS=(torch==2.14.1 torchvision==0.29.1 sam2==1.1.0)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%s\n' "${HAND_PINS[@]}" >"$tmp/pins.txt"
extras=$(python3 -c 'import tomllib; d = tomllib.load(open("pyproject.toml", "rb"));
print(",".join(sorted(d["project"].get("optional-dependencies", {}))))')
bash scripts/install.sh "$tmp/venv" "$extras" "$tmp/pins.txt"
{
  echo "# Lock: every package of a clean venv with hqseg[${extras}] installed (Linux x86_64,"
  echo "# $("$tmp/venv/bin/python" -c 'import platform; print("Python", platform.python_version())')). Do not edit by hand: regenerate with"
  echo "#   bash scripts/lock.sh"
  echo "# Hand-chosen pins (scripts/lock.sh): ${HAND_PINS[*]} (FACTS §6: the local"
  echo "# CPU torch wheel has no matching torchvision; these regular builds run on CPU)."
  echo "# Use: bash scripts/install.sh (it passes -c constraints.txt to every pip install)"
  "$tmp/venv/bin/python" -m pip freeze --all --exclude-editable | grep -v -E '^(pip)==' | LC_ALL=C sort -f
} >constraints.txt.new
mv constraints.txt.new constraints.txt
echo "wrote constraints.txt ($(grep -c '==' constraints.txt) pins)"
