#!/usr/bin/env bash
# kiln's main job, from a fresh clone: install what is needed, then build the example AMI
# (examples/aws-ami) against a local EC2-compatible endpoint, instance sshd, bastion and ssh-agent.
# Extra arguments go to `kiln build` (e.g. -debug, -on-error=abort).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec node scripts/demo.mjs "$@"
