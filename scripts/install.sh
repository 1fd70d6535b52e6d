#!/usr/bin/env bash
# Create (or update) a virtual environment with hqseg and its locked dependencies.
#
#   bash scripts/install.sh                 # .venv with hqseg[test] (+ Debian's Chromium)
#   bash scripts/install.sh .venv ""        # .venv with hqseg alone (the main job)
#   bash scripts/install.sh DIR EXTRAS [CONSTRAINTS]
#
# Why three steps: `sam2` (HQ-SAM 2's base, Meta's SAM 2.1) is published as an sdist whose
# setup.py imports torch. Built in pip's isolated environment it would fetch a second, unpinned
# torch; so torch is installed first from the lock and sam2 is built against it
# (--no-build-isolation), without its optional CUDA extension (SAM2_BUILD_CUDA=0).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}
extras=${2-test}
lock=${3:-constraints.txt}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off
python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip install -q -c "$lock")
"${pip[@]}" setuptools wheel torch torchvision
SAM2_BUILD_CUDA=0 "${pip[@]}" --no-build-isolation "$(grep -E '^sam2==' "$lock" || echo sam2==1.1.0)"
"${pip[@]}" -e ".${extras:+[$extras]}"
case ",$extras," in *,test,*) bash scripts/install_browser.sh ;; esac
echo "installed hqseg${extras:+[$extras]} into $venv"
