#!/usr/bin/env bash
# End-to-end resume and preemption of `pgenrm train` on a tiny run
# (fixtures/tiny_run.yaml, ~1.5 s per run): every interrupted run must end
# with parameters and result rows bit-identical to an uninterrupted one.
#   1. kill -9 at random moments (several times), then --resume auto
#   2. SIGTERM mid-stage → a checkpoint and exit code 85 → resume
#   3. the newest checkpoint truncated at a random byte, then one with a
#      flipped byte → refused with a warning naming it, the previous used
#   4. a config that changes a shape → refused, naming the field
# Usage: test_resume.sh PGENRM_BINARY CONFIG [SEED]
set -euo pipefail
bin=$1
cfg=$2
seed=${3:-$(date +%s)}
RANDOM=$seed
echo "test_resume: seed $seed (rerun with it as the third argument to repeat the kill times)"
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1
work=$(mktemp -d)
fail() { echo "FAIL: $*  (files kept in $work)"; exit 1; }

# run NAME [args...]: a run in its own run and data directories.
run() {
  local name=$1; shift
  "$bin" train -c "$cfg" run.out_dir="$work/$name" data.dir="$work/$name/world" "$@"
}

# start LOG NAME [args...]: the same in the background; $pid is pgenrm's own
# pid (exec), so signals reach it and not a subshell.
start() {
  local log=$1 name=$2; shift 2
  ( exec "$bin" train -c "$cfg" run.out_dir="$work/$name" data.dir="$work/$name/world" "$@" > "$log" 2>&1 ) &
  pid=$!
}

# same REF NAME: parameters byte for byte, result rows minus timings.
same() {
  cmp "$work/$1/demo/model/model.safetensors" "$work/$2/demo/model/model.safetensors" ||
    fail "$2: final parameters differ from the uninterrupted run $1"
  python3 - "$work/$1/demo/results.json" "$work/$2/demo/results.json" <<'PY' || fail "$2: result rows differ from $1"
import json, sys
def rows(p):
    out = []
    for r in json.load(open(p))["rows"]:
        out.append({k: v for k, v in r.items() if k not in ("wall_s", "train_s", "cached")})
    return out
a, b = rows(sys.argv[1]), rows(sys.argv[2])
if a != b:
    for x, y in zip(a, b):
        if x != y: print("differs:", x.get("row"), "\n  ", x, "\n  ", y)
    if len(a) != len(b): print("row counts", len(a), len(b))
    sys.exit(1)
PY
}

run ref > "$work/ref.log" 2>&1 || { cat "$work/ref.log"; fail "the uninterrupted run failed"; }

# --- 1. kill -9 at random moments ------------------------------------------
kills=0
for attempt in 1 2 3 4 5; do
  start "$work/kill.$attempt.log" kill --resume auto
  sleep "0.$(( RANDOM % 12 + 1 ))"
  if kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    kills=$((kills + 1))
  else
    wait "$pid" || fail "attempt $attempt failed on its own (see $work/kill.$attempt.log)"
    break
  fi
done
[ "$kills" -ge 1 ] || fail "no kill landed before the run finished"
run kill --resume auto > "$work/kill.final.log" 2>&1 || { cat "$work/kill.final.log"; fail "the resumed run failed"; }
grep -q "resume: " "$work/kill.final.log" || fail "the last run did not resume"
same ref kill
echo "ok 1: killed $kills times, resumed, bit-identical"

# --- 2. SIGTERM mid-stage → checkpoint + exit 85 → resume -------------------
run ref_long sft.steps=80 > "$work/ref_long.log" 2>&1 || fail "the long uninterrupted run failed"
start "$work/term.log" term sft.steps=80
for _ in $(seq 1 500); do
  grep -q "BT + history: accuracy" "$work/term.log" 2>/dev/null && break
  sleep 0.02
done
sleep 0.2
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 85 ] || { tail -5 "$work/term.log"; fail "SIGTERM: exit code $rc, expected 85"; }
newest=$(ls "$work/term/demo/checkpoints"/ckpt-*.h5 | sort | tail -1)
"$bin" checkpoint inspect "$newest" > "$work/inspect.txt"
grep -q "stage: psi" "$work/inspect.txt" || { cat "$work/inspect.txt"; fail "SIGTERM during PSI did not checkpoint PSI"; }
run term sft.steps=80 --resume auto > "$work/term.resume.log" 2>&1 || fail "resume after SIGTERM failed"
same ref_long term
echo "ok 2: SIGTERM → exit 85 with a PSI checkpoint → resumed, bit-identical"

# --- 3. damaged newest checkpoints are passed over --------------------------
for damage in truncate flip; do
  name=dmg_$damage
  start "$work/$name.log" $name
  for _ in $(seq 1 500); do
    grep -q "P-GenRM SFT only (PSI): accuracy" "$work/$name.log" 2>/dev/null && break
    sleep 0.02
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  newest=$(ls "$work/$name/demo/checkpoints"/ckpt-*.h5 | sort | tail -1)
  count=$(ls "$work/$name/demo/checkpoints"/ckpt-*.h5 | wc -l)
  [ "$count" -ge 2 ] || fail "$damage: need two checkpoints to fall back on, found $count"
  size=$(stat -c %s "$newest")
  if [ $damage = truncate ]; then
    truncate -s $(( RANDOM * 32768 % size + RANDOM % 1000 )) "$newest" 2>/dev/null || truncate -s $(( size / 2 )) "$newest"
    [ "$(stat -c %s "$newest")" -lt "$size" ] || truncate -s $(( size / 2 )) "$newest"
  else
    python3 - "$newest" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x5A
open(p, "wb").write(bytes(b))
PY
  fi
  run $name --resume auto > "$work/$name.resume.log" 2>&1 || { tail -5 "$work/$name.resume.log"; fail "$damage: resume failed"; }
  grep -q "$(basename "$newest")" "$work/$name.resume.log" || fail "$damage: the damaged $(basename "$newest") was not reported"
  same ref $name
  echo "ok 3.$damage: $(basename "$newest") refused, the previous one used, bit-identical"
done

# --- 4. an incompatible config is refused, naming the field -----------------
start "$work/cfgmis.first.log" cfgmis
for _ in $(seq 1 1000); do
  ls "$work/cfgmis/demo/checkpoints"/ckpt-*.done > /dev/null 2>&1 && break
  sleep 0.02
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
if ls "$work/cfgmis/demo/checkpoints"/ckpt-*.h5 > /dev/null 2>&1; then
  rc=0
  run cfgmis model.d_model=48 --resume auto > "$work/cfgmis.log" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] || fail "a resume with another model.d_model was accepted"
  grep -q "model.d_model" "$work/cfgmis.log" || { cat "$work/cfgmis.log"; fail "the refusal does not name model.d_model"; }
  echo "ok 4: model.d_model change refused"
else
  fail "no checkpoint to test the config check on"
fi
# --- 5. the SLURM script requeues on 85 and only on 85 ----------------------
sbatch_script=$(dirname "$0")/../../tools/slurm/train.sbatch
mkdir -p "$work/fakebin"
cat > "$work/fakebin/srun" <<'SH'
#!/usr/bin/env bash
echo "srun $*" >> "$FAKE_LOG"
exit "$FAKE_RC"
SH
cat > "$work/fakebin/scontrol" <<'SH'
#!/usr/bin/env bash
echo "scontrol $*" >> "$FAKE_LOG"
SH
chmod +x "$work/fakebin/srun" "$work/fakebin/scontrol"
for frc in 85 0 1; do
  : > "$work/fake.log"
  rc=0
  PATH="$work/fakebin:$PATH" FAKE_LOG="$work/fake.log" FAKE_RC=$frc SLURM_JOB_ID=4242 \
    bash "$sbatch_script" some.yaml grpo.steps=5 > /dev/null || rc=$?
  grep -q -- "train --config some.yaml --resume auto grpo.steps=5" "$work/fake.log" ||
    fail "sbatch: srun was not called with --resume auto (got: $(cat "$work/fake.log"))"
  if [ $frc -eq 85 ]; then
    grep -q "scontrol requeue 4242" "$work/fake.log" || fail "sbatch: exit 85 did not requeue"
    [ $rc -eq 0 ] || fail "sbatch: a requeued job should leave with 0, got $rc"
  else
    ! grep -q scontrol "$work/fake.log" || fail "sbatch: exit $frc requeued"
    [ $rc -eq $frc ] || fail "sbatch: exit $frc became $rc"
  fi
done
echo "ok 5: the SLURM script requeues on 85 only"

rm -rf "$work"
echo "all resume tests passed"
