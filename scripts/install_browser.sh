#!/usr/bin/env bash
# Debian's Chromium for the review page's browser test (tests/review/test_review_browser.py).
# Playwright's own browser download cannot work offline, so the test drives /usr/bin/chromium.
# Called by scripts/install.sh for the test extra; does nothing where Chromium is installed.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "install Debian's chromium (apt-get install chromium chromium-driver): the browser" \
       "test needs /usr/bin/chromium" >&2
  exit 1
fi
apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver
