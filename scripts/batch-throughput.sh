#!/usr/bin/env bash
# batch-throughput.sh: otoseg batch's throughput with 1, 2 and 4 worker
# processes on this machine, and the cost of a worker killed mid-job.
#
#   scripts/batch-throughput.sh [bin/otoseg] [N scans]
#
# Each run gets a fresh SQLite queue and N temporal-bone phantoms (centre A,
# 433x267x60 voxels). Throughput is N over the wall time from the workers'
# start to the last one's exit (`batch worker --until-empty`). The kill run
# starts 2 workers, kill -9s one as soon as it holds a job, and reports the
# wall time until every scan is done: the killed job waits for River's
# rescuer (--job-timeout plus one minute, then the leader's next check).
set -euo pipefail
BIN=${1:-bin/otoseg}
N=${2:-8}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$BIN" phantom --out "$WORK/ph" --cases "$N" --centers A --seed 7 -q >/dev/null
grep -m1 'model name' /proc/cpuinfo
grep -m1 'cpu family' /proc/cpuinfo; grep -m1 '^model\s' /proc/cpuinfo
echo "cores: $(nproc), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

run() { # run WORKERS NAME [kill]
	local w=$1 name=$2 kill=${3:-} timeout=30m
	[ -n "$kill" ] && timeout=60s
	local q="$WORK/$name.db" out="$WORK/out-$name"
	"$BIN" batch submit --queue "$q" --out "$out" "$WORK/ph/images" >/dev/null
	local t0 pids=() i
	t0=$(date +%s.%N)
	for i in $(seq "$w"); do
		"$BIN" batch worker --queue "$q" --until-empty --poll 200ms --job-timeout "$timeout" 2>>"$WORK/$name.log" &
		pids+=($!)
	done
	if [ -n "$kill" ]; then
		sleep 3 # the first jobs are in hand
		kill -9 "${pids[0]}"
		echo "  killed worker ${pids[0]} with a job in hand"
	fi
	for p in "${pids[@]}"; do wait "$p" || true; done
	local t1 done
	t1=$(date +%s.%N)
	done=$(ls "$out" | grep -c '\.nii\.gz$' || true)
	local per
	per=$(cat "$out"/*.json | grep -m"$N" '"seconds"' | awk '{s += $2} END {printf "%.1f", s / NR}')
	printf '%-5s %d worker(s): %d/%d scans in %6.1f s = %5.0f scans/hour, %s s per scan (load %s)\n' "$name" "$w" "$done" "$N" \
		"$(echo "$t1 - $t0" | bc)" "$(echo "$N * 3600 / ($t1 - $t0)" | bc)" "$per" "$(cut -d' ' -f1 /proc/loadavg)"
}
run 1 w1
run 2 w2
run 4 w4
run 2 kill kill
