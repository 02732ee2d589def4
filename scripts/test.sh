#!/usr/bin/env bash
# The one test command (README, CI): types, lint, then every vitest project.
# Integration tests start their own moto_server; the infra project runs
# `serverless package` and cfn-lint.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== node $(node --version)"
echo "== typecheck"
tsc --noEmit -p .
echo "== lint"
biome check .
echo "== tests"
vitest run "$@"
echo "== simulation (docs/simulation.md)"
tsx sim/main.ts --seeds 1000
