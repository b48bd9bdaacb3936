#!/usr/bin/env bash
# Best effort: make Debian's Chromium available for the browser test. Never fails the build; the browser
# test itself says clearly when it has to skip.
set -u
if command -v chromium >/dev/null 2>&1 || [[ -x /usr/bin/chromium ]]; then
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser test ..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "could not install chromium: the browser test will be skipped" >&2
else
  echo "chromium not found and cannot be installed here (not root): the browser test will be skipped" >&2
fi
exit 0
