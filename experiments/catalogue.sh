#!/usr/bin/env bash
# Re-runs the strategy catalogue's acceptance checks and prints each table:
#   1. the last item: 200 buyers, stock 1, 4 workers, think 5 ms — every strategy but naive sells exactly 1;
#   2. 3 items × 100 stock, 3000 buyers — every strategy but naive sells exactly 300;
#   3. naive at each isolation level: oversold at read committed, exact (with aborts) above it;
#   4. serialized while every worker is SIGKILLed every 0.7 s from outside: 3000 buyers, 1000 units;
#   5. the strategy files under strategies/ beside the built-ins;
#   6. racelab bench --strategy all (pgbench on each strategy's own SQL).
# Uses the release build (scripts/setup builds it) and the lab's own servers unless
# RACELAB_POSTGRES_URL / RACELAB_AMQP_URL are set. Takes a few minutes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
racelab=.build/release/racelab
[[ -x $racelab ]] || scripts/setup
files=()
for file in strategies/*.yaml; do files+=(--strategy-file "$file"); done

echo "== 1. last item: 200 buyers, 1 item, stock 1, think 5 ms"
"$racelab" run --strategy all --buyers 200 --stock 1 --workers 4 --think-ms 5
echo
echo "== 2. three items x 100 stock, 3000 buyers, think 5 ms"
"$racelab" run --strategy all --buyers 3000 --stock 100 --items 3 --workers 4 --think-ms 5
echo
for level in read-committed repeatable-read serializable; do
    echo "== 3. naive at $level: 200 buyers, stock 1, think 5 ms"
    "$racelab" run --strategy naive --isolation "$level" --buyers 200 --stock 1 --workers 4 --think-ms 5
    echo
done
echo "== 4. serialized, every worker SIGKILLed every 0.7 s: 3000 buyers, 1000 units, think 5 ms"
"$racelab" run --strategy serialized --buyers 3000 --stock 1000 --workers 4 --think-ms 5 --timeout 60 &
run=$!
sleep 2
while kill -0 "$run" 2>/dev/null; do
    pkill -9 -f "$racelab worker" || true
    sleep 0.7
done
wait "$run" || status=$?
echo
echo "== 5. strategies written as files, beside the built-ins: 600 buyers, 3 items x 40, think 5 ms"
"$racelab" run --strategy all "${files[@]}" --buyers 600 --stock 40 --items 3 --workers 4 --think-ms 5
echo
echo "== 6. racelab bench --strategy all --rounds 1"
"$racelab" bench --strategy all --rounds 1
exit "${status:-0}"
