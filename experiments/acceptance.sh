#!/usr/bin/env bash
# Re-runs the core pipeline's acceptance checks (issue 2) and prints each table:
#   1. the "last item": 200 buyers, stock 1, 4 workers, think 5 ms — naive oversells, the rest sell exactly 1;
#   2. three items × 100 stock, 3000 buyers spread over them — every locked strategy sells exactly 300;
#   3. pessimistic throughput: 10,000 buyers, stock 10,000, 4 workers.
# Uses the release build (scripts/setup builds it) and the lab's own servers unless
# RACELAB_POSTGRES_URL / RACELAB_AMQP_URL are set. Extra arguments go to every `racelab run`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
racelab=.build/release/racelab
[[ -x $racelab ]] || scripts/setup

echo "== last item: 200 buyers, 1 item, stock 1, think 5 ms"
"$racelab" run --strategy all --buyers 200 --stock 1 --workers 4 --think-ms 5 "$@"
echo
echo "== three items x 100 stock, 3000 buyers"
"$racelab" run --strategy all --buyers 3000 --stock 100 --items 3 --workers 4 "$@"
echo
echo "== pessimistic throughput: 10000 buyers, stock 10000"
"$racelab" run --strategy pessimistic --buyers 10000 --stock 10000 --workers 4 "$@"
