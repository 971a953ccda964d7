#!/usr/bin/env bash
# RaceLab's pipeline against the Python reference stack (worker.py: pika + psycopg2), same harness,
# same stampede, same number of database sessions, alternating round by round.
#
#   experiments/python-baseline/compare.sh [--buyers N] [--rounds R] [--sessions S]
#
# Defaults: 20000 buyers of one hot item that never sells out, 3 rounds, 4 sessions (4 Python worker
# processes; 1 racelab worker with 4 consumer threads). Installs pika and psycopg2-binary into a
# virtualenv under .racelab/ the first time. Prints req/s of each and the ratio racelab / python.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

buyers=20000 rounds=3 sessions=4
while (($#)); do
    case "$1" in
        --buyers) buyers=$2; shift ;;
        --rounds) rounds=$2; shift ;;
        --sessions) sessions=$2; shift ;;
        -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "compare.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

racelab=.build/release/racelab
[[ -x $racelab ]] || scripts/setup
venv=.racelab/python-baseline-venv
if [[ ! -x $venv/bin/python ]]; then
    echo "compare.sh: installing pika and psycopg2-binary into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet pika psycopg2-binary
fi
eval "$("$racelab" up)"

pids=()
stop_python() {
    if ((${#pids[@]})); then
        kill "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
    pids=()
}
trap stop_python EXIT

throughput() { "$venv/bin/python" -c 'import json,sys; r=json.load(sys.stdin); print(r["throughputPerSec"], r["oversold"], len(r["violations"]))'; }
stampede=(run --strategy pessimistic --buyers "$buyers" --stock 1000000000 --format json)

printf '%-6s %14s %14s %7s\n' round "python req/s" "racelab req/s" ratio
ratios=()
for round in $(seq 1 "$rounds"); do
    for _ in $(seq 1 "$sessions"); do
        "$venv/bin/python" experiments/python-baseline/worker.py >>.racelab/logs/python-baseline.log 2>&1 &
        pids+=($!)
    done
    sleep 2  # let every Python consumer attach before the requests are published
    read -r python_rate python_oversold python_broken < <("$racelab" "${stampede[@]}" --workers 0 | throughput)
    stop_python
    read -r swift_rate swift_oversold swift_broken < <("$racelab" "${stampede[@]}" --workers 1 --consumers "$sessions" | throughput)
    if [[ $python_oversold != 0 || $python_broken != 0 || $swift_oversold != 0 || $swift_broken != 0 ]]; then
        echo "compare.sh: round $round broke an invariant (python oversold $python_oversold, racelab oversold $swift_oversold)" >&2
        exit 1
    fi
    ratio=$("$venv/bin/python" -c "print(f'{$swift_rate / $python_rate:.2f}')")
    ratios+=("$ratio")
    printf '%-6s %14.0f %14.0f %7s\n' "$round" "$python_rate" "$swift_rate" "$ratio"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}')
echo "median ratio racelab / python: $median ($buyers buyers, $sessions sessions, pessimistic)"
