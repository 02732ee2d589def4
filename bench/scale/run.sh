#!/usr/bin/env bash
# The scale and memory runs of docs/benchmarks.md ("Snapshot at scale"), one after another, each
# with its own moto_server (bench/snapshot/run.ts). Data goes under $TMPDIR and is removed after
# each run. About 40 minutes on 2 busy cores; run it niced: `nice -n 10 bench/scale/run.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."
run() { npm run --silent bench:snapshot -- --runs 1 "$@"; }
# Memory flat as the instance grows: 2,000 documents + 10 / 20 / 40 exports of 25 MiB, lifeboat alone.
run --objects 2000 --large 10 --large-mib 25 --peers none --results bench/scale/results-0.25gib.json
run --objects 2000 --large 20 --large-mib 25 --peers none --results bench/scale/results-0.5gib.json
# About 1 GiB, side by side with aws s3 sync and restic.
run --objects 2000 --large 40 --large-mib 25 --results bench/scale/results-1gib.json
# About 5,000 objects / 50 MiB, side by side.
run --objects 4990 --large 10 --large-mib 4 --results bench/scale/results-5000.json
# The issue-11 targets at 2,000 objects, side by side (bench/snapshot/results.json), and the same
# change at 20,000 objects, lifeboat alone (its metadata cost against the object count).
run --objects 2000
run --objects 20000 --peers none --results bench/scale/results-20000.json
