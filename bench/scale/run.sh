#!/usr/bin/env bash
# The scale and memory runs of docs/benchmarks.md ("Snapshot at scale"), each with its own
# moto_server (bench/snapshot/run.ts). Data goes under $TMPDIR and is removed after each run.
# About an hour on 2 busy cores; run it niced: `nice -n 10 bench/scale/run.sh [part]`.
set -euo pipefail
cd "$(dirname "$0")/../.."
run() { npm run --silent bench:snapshot -- --runs 1 "$@"; }
part=${1:-all}
if [[ $part == all || $part == memory ]]; then
  # Memory as the instance grows: 2,000 documents + 10 / 20 / 40 exports of 25 MiB, lifeboat alone,
  # with MALLOC_MMAP_THRESHOLD_ as serverless.yml sets it (bench/snapshot/run.ts passes it on).
  # results-0.25gib.json and results-0.5gib.json are the same runs before that setting.
  run --objects 2000 --large 10 --large-mib 25 --peers none --results bench/scale/results-0.25gib-mmap.json
  run --objects 2000 --large 20 --large-mib 25 --peers none --results bench/scale/results-0.5gib-mmap.json
  run --objects 2000 --large 40 --large-mib 25 --peers none --results bench/scale/results-1gib-mmap.json
fi
if [[ $part == all || $part == targets ]]; then
  # The issue-11 targets at 2,000 objects, side by side (bench/snapshot/results.json), and the
  # same change at 20,000 objects, lifeboat alone (its metadata cost against the object count).
  run --objects 2000
  run --objects 20000 --peers none --results bench/scale/results-20000.json
fi
if [[ $part == all || $part == peers ]]; then
  # About 5,000 objects / 50 MiB and about 1 GiB, side by side with aws s3 sync and restic.
  run --objects 4990 --large 10 --large-mib 4 --results bench/scale/results-5000.json
  run --objects 2000 --large 40 --large-mib 25 --results bench/scale/results-1gib.json
fi
