#!/usr/bin/env bash
# `pgenrm train` with 2 learner ranks under mpirun (fixtures/tiny_run.yaml):
#   1. equivalence: the final parameters of -np 2 (batch split over the
#      ranks, gradients summed) equal those of one process, relative
#      difference ≤ 1e-5 per tensor
#   2. kill -9 of a random rank at random moments (rank 0 included, also
#      while it writes a checkpoint), then `mpirun -np 2 ... --resume auto`:
#      final parameters bit-identical to an uninterrupted -np 2 run
#   3. SIGUSR1 to mpirun (forwarded to every rank) mid-stage → all ranks
#      stop at the same step, rank 0 checkpoints, exit 85 → resume → identical
#   4. a learner that hangs (SIGSTOP) → the other exits within the watchdog
#      timeout with a message naming its rank and the operation
# Usage: test_dist_train.sh PGENRM MPIEXEC PYTHON CONFIG [SEED]
set -euo pipefail
bin=$1
mpiexec=$2
python=$3
cfg=$4
seed=${5:-$(date +%s)}
RANDOM=$seed
here=$(cd "$(dirname "$0")" && pwd)
echo "test_dist_train: seed $seed"
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
fail() { echo "FAIL: $*  (files kept in $work)"; exit 1; }
args() { echo "-c $cfg run.out_dir=$work/$1 data.dir=$work/$1/world dist.watchdog_s=20"; }
# start LOG NAME [args...]: mpirun -np 2 in the background, $pid = mpirun.
start() {
  local log=$1 name=$2; shift 2
  ( exec "$mpiexec" --oversubscribe -np 2 "$bin" train $(args "$name") "$@" > "$log" 2>&1 ) &
  pid=$!
}
params() { echo "$work/$1/demo/model/model.safetensors"; }

# --- 1. one process vs two learner ranks -------------------------------------
"$bin" train $(args one) > "$work/one.log" 2>&1 || fail "the single-process run failed"
"$mpiexec" --oversubscribe -np 2 "$bin" train $(args two) > "$work/two.log" 2>&1 ||
  { tail -20 "$work/two.log"; fail "the 2-rank run failed"; }
grep -q "learners 2" "$work/two.log" || fail "the 2-rank run did not run 2 learners"
"$python" "$here/compare_params.py" "$(params one)" "$(params two)" --rtol 1e-5 ||
  fail "2 learner ranks do not reach the single-process parameters"
echo "ok 1: -np 2 equals one process within 1e-5"

# --- 2. kill -9 of one rank, resume ------------------------------------------
kills=0
for attempt in 1 2 3 4; do
  start "$work/kill.$attempt.log" kill --resume auto
  sleep "$(( RANDOM % 3 )).$(( RANDOM % 10 ))"
  # mpirun may not have started its ranks yet (a sleep of 0.0 s): look
  # again for up to 2 s before reading "no ranks" as "the run finished".
  victims=()
  for _ in $(seq 40); do
    victims=($(pgrep -P "$pid" -f "pgenrm train" || true))
    [ ${#victims[@]} -gt 0 ] && break
    sleep 0.05
  done
  if [ ${#victims[@]} -eq 0 ]; then
    wait "$pid" || fail "attempt $attempt failed on its own (see $work/kill.$attempt.log)"
    break
  fi
  victim=${victims[$(( RANDOM % ${#victims[@]} ))]}
  kill -9 "$victim" 2>/dev/null || true
  rc=0
  wait "$pid" || rc=$?
  [ $rc -ne 0 ] && kills=$((kills + 1))
done
[ "$kills" -ge 1 ] || fail "no kill landed before the run finished"
"$mpiexec" --oversubscribe -np 2 "$bin" train $(args kill) --resume auto > "$work/kill.final.log" 2>&1 ||
  { tail -20 "$work/kill.final.log"; fail "the resumed 2-rank run failed"; }
cmp "$(params two)" "$(params kill)" || fail "killed and resumed: parameters differ from the uninterrupted 2-rank run"
echo "ok 2: a rank killed $kills times, resumed, bit-identical"

# --- 3. SIGUSR1 → exit 85 → resume ---------------------------------------------
"$mpiexec" --oversubscribe -np 2 "$bin" train $(args two_long) sft.steps=80 > "$work/two_long.log" 2>&1 ||
  fail "the long 2-rank run failed"
start "$work/usr1.log" usr1 sft.steps=80
for _ in $(seq 1 1000); do
  grep -q "BT + history: accuracy" "$work/usr1.log" 2>/dev/null && break
  sleep 0.02
done
sleep 0.3
kill -USR1 "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 85 ] || { tail -20 "$work/usr1.log"; fail "SIGUSR1: exit code $rc, expected 85"; }
[ "$(grep -c "stop requested" "$work/usr1.log")" -ge 2 ] || fail "SIGUSR1: not every rank reported the stop"
"$mpiexec" --oversubscribe -np 2 "$bin" train $(args usr1) sft.steps=80 --resume auto > "$work/usr1.resume.log" 2>&1 ||
  fail "resume after SIGUSR1 failed"
cmp "$(params two_long)" "$(params usr1)" || fail "SIGUSR1 and resumed: parameters differ"
echo "ok 3: SIGUSR1 → both ranks stop, exit 85 → resumed, bit-identical"
# --- 4. a hung learner → the watchdog ends the job -----------------------------
start "$work/hang.log" hang sft.steps=400 dist.watchdog_s=3
for _ in $(seq 1 1000); do
  grep -q "BT + history: accuracy" "$work/hang.log" 2>/dev/null && break
  sleep 0.02
done
ranks=($(pgrep -P "$pid" -f "pgenrm train" | sort -n))
[ ${#ranks[@]} -eq 2 ] || fail "hang: expected 2 ranks, found ${#ranks[@]}"
t0=$(date +%s)
kill -STOP "${ranks[1]}"
rc=0
wait "$pid" || rc=$?
t1=$(date +%s)
kill -KILL "${ranks[1]}" 2>/dev/null || true
[ $rc -ne 0 ] || fail "hang: the job ended with 0 although a rank hung"
grep -q "pgenrm watchdog: rank 0: .* did not complete within 3 s" "$work/hang.log" ||
  { tail -20 "$work/hang.log"; fail "hang: no watchdog message naming rank 0 and the operation"; }
[ $((t1 - t0)) -le 60 ] || fail "hang: the job took $((t1 - t0)) s to end (watchdog 3 s)"
echo "ok 4: a hung learner ended the job after $((t1 - t0)) s: $(grep -o "pgenrm watchdog: rank 0: [^;]*" "$work/hang.log" | head -1)"

rm -rf "$work"
echo "all distributed training tests passed"
