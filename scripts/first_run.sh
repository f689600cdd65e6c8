#!/usr/bin/env bash
# Fresh clone -> first usable map, timed: clones this repository into DIR (beside ../shared),
# runs `bash scripts/run.sh` there in the background and polls /_dash-layout until it holds the
# map; then stops the app and the background build of the whole catalogue.
#   bash scripts/first_run.sh /work/fresh [port]      (DIR must be a sibling of ../shared's parent)
set -u
DIR=${1:?usage: first_run.sh DIR [PORT]}
PORT=${2:-8071}
SRC=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$DIR" && git clone -q "$SRC" "$DIR"
cd "$DIR"
t0=$(date +%s.%N)
PORT=$PORT bash scripts/run.sh > first-run.log 2>&1 &
status=1
while [ "$(echo "$(date +%s) - ${t0%.*} < 1800" | bc)" = 1 ]; do
  sleep 2
  if curl -s -m 5 "http://127.0.0.1:$PORT/_dash-layout" 2>/dev/null | grep -q '"scattergl"'; then
    echo "first usable map after $(echo "$(date +%s.%N) - $t0" | bc) s"; status=0; break
  fi
done
[ $status = 0 ] || echo "no map after 30 min (log: $DIR/first-run.log)"
grep -n "\[setup\]\|\[run\]\|build published\|done in" first-run.log artifacts/sample-build.log 2>/dev/null | cut -c1-170
for pid in $(pgrep -f "\.venv/bin/python"); do  # the app and the background build, run from DIR
  [ "$(readlink "/proc/$pid/cwd")" = "$(pwd -P)" ] && kill "$pid" 2>/dev/null
done
exit $status
