#!/usr/bin/env bash
# Installs what kiln's tests and demo need on a fresh Debian machine, idempotently:
# Debian packages (OpenSSH server and client, ansible-core, sudo, iproute2; make and g++ for the
# lz4 addon npm builds; xz-utils and lz4 for the compress tests), npm packages (npm ci),
# then compiles the TypeScript. Needs root for apt-get (CI and the dev machines run as root).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pkg in openssh-server openssh-client ansible-core sudo iproute2 make g++ xz-utils lz4 openssl util-linux; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! python3 -c 'import moto.server' 2>/dev/null; then
  echo "setup: python3 has no moto; installing moto[server] with pip"
  python3 -m pip install --quiet 'moto[server]>=5,<6'
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npx tsc -p tsconfig.json
