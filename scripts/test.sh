#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine (as root), then run it.
# This is the README's test command; .ci/run calls it unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(raptor2-utils chromium chromium-driver)  # rapper; headless browser tests
APT_PACKAGES+=(virtuoso-opensource)  # tests/test_remote.py starts its own throwaway Virtuoso
APT_PACKAGES+=(nginx)  # tests/web/test_nginx.py runs its own nginx with deploy/nginx/ikmkg.conf
# Comunica (tests/test_fragments.py) needs Node.js >= 20.18 (its undici 7): this machine image
# ships Node 20 with npm. Where there is no node at all, take Debian's (18 on bookworm: too old,
# so the Comunica tests then fail, never skip); its npm package conflicts with a bundled npm.
command -v node >/dev/null || APT_PACKAGES+=(nodejs npm)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing system packages: ${missing[*]}"
  # virtuoso-opensource asks for the dba password of its system database (unused by the
  # tests, which make their own): answer with a random one instead of prompting.
  pw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  printf 'virtuoso-opensource-7 virtuoso-opensource-7/dba-password password %s\nvirtuoso-opensource-7 virtuoso-opensource-7/dba-password-again password %s\n' "$pw" "$pw" | debconf-set-selections
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python3 -m pip install -q -e '.[test]'

# The Comunica client of tests/test_fragments.py, from its committed lock file; again only when
# the lock file changed since the last install.
lock_sum=$(sha256sum tests/comunica/package-lock.json | cut -d' ' -f1)
if [ "$(cat tests/comunica/node_modules/.ikmkg-lock-sha256 2>/dev/null)" != "$lock_sum" ]; then
  echo "test.sh: installing Comunica into tests/comunica (npm ci)"
  npm ci --prefix tests/comunica --no-audit --no-fund --loglevel=error >/dev/null
  echo "$lock_sum" > tests/comunica/node_modules/.ikmkg-lock-sha256
fi
exec python3 -m pytest -q "$@"
