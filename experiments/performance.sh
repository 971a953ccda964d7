#!/usr/bin/env bash
# Re-measures the README's performance table (issue 6), side by side on this machine:
#   1. racelab bench: pessimistic, 20,000 buyers of one hot item, 1 worker x 4 consumers vs pgbench -c 4
#      on pessimistic's own SQL in its two round trips (and its ceiling: everything in one round trip);
#   2. the same at 16 sessions (4 workers x 4 consumers vs pgbench -c 16);
#   3. racelab bench --strategy batched: against pgbench granting a full batch per transaction;
#   4. the Python reference stack (pika + psycopg2, 4 processes) vs racelab on the same stampede;
#   5. --strategy all at full speed: 20,000 buyers for a stock of 5,000 — the locked strategies must sell exactly 5,000;
#   6. the harness's peak memory at 100,000 buyers (GNU time);
#   7. open loop at 1,000 req/s: latency from each request's intended send time.
# Usage: experiments/performance.sh [--rounds N]   (default 3; the whole script takes a few minutes)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds=3
[[ ${1:-} == --rounds ]] && rounds=$2
racelab=.build/release/racelab
[[ -x $racelab ]] || scripts/setup
eval "$("$racelab" up)"

echo "== 1. pipeline vs pgbench, pessimistic, 4 sessions"
"$racelab" bench --rounds "$rounds"
echo
echo "== 2. pipeline vs pgbench, pessimistic, 16 sessions"
"$racelab" bench --rounds "$rounds" --workers 4 --consumers 4 --no-pipelined-pgbench
echo
echo "== 3. batched vs pgbench (a batch of 16 per transaction), 4 sessions"
"$racelab" bench --rounds "$rounds" --strategy batched --no-pipelined-pgbench
echo
echo "== 4. racelab vs the Python reference stack, 4 sessions"
experiments/python-baseline/compare.sh --rounds "$rounds"
echo
echo "== 5. --strategy all at full speed: 20000 buyers, stock 5000, 1 worker x 4 consumers"
"$racelab" run --strategy all --buyers 20000 --stock 5000 --workers 1
echo
echo "== 6. harness peak memory, batched, 20000 and 100000 buyers"
if [[ -x /usr/bin/time ]]; then
    for buyers in 20000 100000; do
        /usr/bin/time -f "$buyers buyers: harness peak RSS %M KiB, %e s" \
            "$racelab" run --strategy batched --buyers "$buyers" --stock 1000000000 --workers 1 >/dev/null
    done
else
    echo "(skipped: needs GNU time, apt-get install time)"
fi
echo
echo "== 7. open loop, pessimistic, 10000 requests at 1000 req/s"
"$racelab" run --strategy pessimistic --buyers 10000 --stock 1000000000 --workers 1 --rate 1000
