#!/usr/bin/env bash
# Runs every test from a fresh clone: installs what is needed (scripts/setup.sh), then `npm test`
# (type check, lint, unit and end-to-end tests against a real sshd, ansible-playbook and moto).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
npm test
