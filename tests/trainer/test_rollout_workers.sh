#!/usr/bin/env bash
# GRPO with separate rollout workers (fixtures/tiny_run.yaml, 6 prompts per
# step so that leases hold several items):
#   1. 2 learners + 2 MPI rollout ranks (mpirun -np 4) sample exactly the
#      chains 2 learners sample themselves (chains_digest of every GRPO step
#      equal) and end with identical parameters
#   2. 2 learners + 2 workers outside MPI (`pgenrm rollout`, weights from
#      published files); one worker SIGKILLs itself holding a lease: the
#      coordinator's ledger shows its items re-queued and every item counted
#      exactly once, training finishes, chains and parameters as in 1
#   3. one step off (grpo.max_staleness=1) with MPI rollout ranks: finishes,
#      every sample at most one version old, ledger balanced
#   4. a standalone `pgenrm coordinator`: learners and a worker reach it by
#      HOST:PORT + token; same chains as 1
#   5. a worker whose data differs from the learners' (other history size):
#      the learners stop with a message that says so
# Usage: test_rollout_workers.sh PGENRM MPIEXEC PYTHON CONFIG
set -euo pipefail
bin=$1
mpiexec=$2
python=$3
cfg=$4
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
fail() { echo "FAIL: $*  (files kept in $work)"; exit 1; }
common="grpo.prompts_per_step=6 dist.items_per_lease=4 dist.watchdog_s=60 dist.rollout_timeout_s=60"
args() { echo "-c $cfg run.out_dir=$work/$1 data.dir=$work/$1/world $common"; }
run_dir() { echo "$work/$1/demo"; }
params() { echo "$(run_dir "$1")/model/model.safetensors"; }
# The chains_digest of every GRPO step, one line each.
digests() {
  "$python" -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("stage") in ("cre", "curriculum") and "chains_digest" in r:
        print(r["stage"], r["step"], int(r["chains_digest"]))' "$(run_dir "$1")/metrics.jsonl"
}
ledger() { "$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$(run_dir "$1")/rollout_ledger.json" "$2"; }
same_as_two() {
  cmp -s "$(params two)" "$(params "$1")" || fail "$1: parameters differ from the learners' own rollouts"
  [ "$(digests two)" == "$(digests "$1")" ] || { diff <(digests two) <(digests "$1") | head; fail "$1: chains differ"; }
}

# --- reference: 2 learners sampling their own chains ---------------------------
"$mpiexec" --oversubscribe -np 2 "$bin" train $(args two) > "$work/two.log" 2>&1 ||
  { tail -20 "$work/two.log"; fail "the 2-learner run failed"; }
[ "$(digests two | wc -l)" -ge 8 ] || fail "no chains_digest in the reference run's metrics"

# --- 1. MPI rollout ranks ---------------------------------------------------------
"$mpiexec" --oversubscribe -np 4 "$bin" train $(args mpi) dist.rollouts=2 > "$work/mpi.log" 2>&1 ||
  { tail -20 "$work/mpi.log"; fail "2 learners + 2 rollout ranks failed"; }
grep -q "learners 2, rollouts 2" "$work/mpi.log" || fail "the job did not run 2 learners + 2 rollout ranks"
"$python" -c 'import json,sys; w=json.load(open(sys.argv[1]))["workers"]; assert w.get("rank-2",{}).get("items",0)>0 and w.get("rank-3",{}).get("items",0)>0, w' "$(run_dir mpi)/rollout_ledger.json" || fail "a rollout rank served nothing"
same_as_two mpi
echo "ok 1: 2 learners + 2 MPI rollout ranks sample the learners' own chains, identical parameters"

# --- 2. external workers, one killed mid-lease ---------------------------------
rd=$(run_dir ext)
mkdir -p "$rd"
( exec "$mpiexec" --oversubscribe -np 2 "$bin" train $(args ext) dist.external_rollouts=true dist.heartbeat_s=2 \
    > "$work/ext.log" 2>&1 ) &
job=$!
"$bin" rollout $(args ext) --run-dir "$rd" --name steady --wait-s 120 > "$work/w1.log" 2>&1 &
w1=$!
"$bin" rollout $(args ext) --run-dir "$rd" --name doomed --wait-s 120 --die-after-items 3 > "$work/w2.log" 2>&1 &
w2=$!
rc=0; wait $w2 || rc=$?
[ $rc -eq 137 ] || fail "the doomed worker was not killed (exit $rc; see $work/w2.log)"
wait $job || { tail -20 "$work/ext.log"; fail "training with external workers failed after a worker died"; }
wait $w1 || fail "the steady worker failed (see $work/w1.log)"
[ "$(ledger ext done)" == "$(ledger ext submitted)" ] || fail "ledger: $(ledger ext done) done of $(ledger ext submitted)"
[ "$(ledger ext accepted)" == "$(ledger ext submitted)" ] || fail "ledger: an item was counted twice or not at all"
[ "$(ledger ext requeued)" -ge 1 ] || fail "ledger: the dead worker's lease was not re-queued"
[ "$(ledger ext revoked_leases)" -ge 1 ] || fail "ledger: no lease revoked"
same_as_two ext
echo "ok 2: a worker killed mid-lease: $(ledger ext requeued) items re-queued, $(ledger ext accepted) of $(ledger ext submitted) counted once, same chains and parameters"

# --- 3. one step off --------------------------------------------------------------
"$mpiexec" --oversubscribe -np 4 "$bin" train $(args async) dist.rollouts=2 grpo.max_staleness=1 > "$work/async.log" 2>&1 ||
  { tail -20 "$work/async.log"; fail "the one-step-off run failed"; }
"$python" -c '
import json, sys
st = [json.loads(l)["staleness"] for l in open(sys.argv[1]) if "staleness" in l]
assert st and all(0 <= s <= 1 for s in st), st
print("staleness per step:", st)' "$(run_dir async)/metrics.jsonl" || fail "staleness outside [0, 1]"
[ "$(ledger async done)" == "$(ledger async submitted)" ] || fail "one step off: ledger unbalanced"
echo "ok 3: one step off finishes, samples at most one version old"

# --- 4. standalone coordinator ----------------------------------------------------
export PGENRM_COORDINATOR_TOKEN=test-token-$$
"$bin" coordinator --port 0 --heartbeat-s 5 --stats-every-s 0 > "$work/coord.log" 2>&1 &
coord=$!
for _ in $(seq 100); do grep -q "listening on" "$work/coord.log" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/coord.log")
[ -n "$port" ] || fail "the coordinator printed no port"
( exec "$mpiexec" --oversubscribe -np 2 "$bin" train $(args alone) dist.coordinator=127.0.0.1:$port \
    > "$work/alone.log" 2>&1 ) &
job=$!
"$bin" rollout $(args alone) --coordinator 127.0.0.1:$port > "$work/w3.log" 2>&1 &
w3=$!
wait $job || { tail -20 "$work/alone.log"; fail "training against a standalone coordinator failed"; }
wait $w3 || fail "the worker of the standalone coordinator failed"
kill -TERM $coord; wait $coord || fail "the coordinator did not stop cleanly on SIGTERM"
grep -q '"duplicates":0' "$work/coord.log" || fail "the standalone coordinator's ledger is missing or shows duplicates"
same_as_two alone
unset PGENRM_COORDINATOR_TOKEN
echo "ok 4: standalone coordinator: same chains and parameters"

# --- 5. a worker with other data ---------------------------------------------------
rd=$(run_dir bad)
mkdir -p "$rd"
( exec "$mpiexec" --oversubscribe -np 2 "$bin" train $(args bad) dist.external_rollouts=true > "$work/bad.log" 2>&1 ) &
job=$!
"$bin" rollout $(args bad) data.history=2 --run-dir "$rd" --wait-s 120 > "$work/w4.log" 2>&1 &
w4=$!
rc=0; wait $job || rc=$?
kill $w4 2>/dev/null || true; wait $w4 2>/dev/null || true
[ $rc -ne 0 ] || fail "the learners accepted rollouts built from other data"
grep -q "differs from the learners'" "$work/bad.log" || { tail -5 "$work/bad.log"; fail "no message naming the mismatch"; }
echo "ok 5: a worker with other data is refused with a clear message"
rm -rf "$work"
