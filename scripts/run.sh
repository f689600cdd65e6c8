#!/usr/bin/env bash
# Set up, build the artifacts if missing, and serve the explorer on http://127.0.0.1:8050
#   bash scripts/run.sh                 # the full non-archived catalogue: on a first run a stratified
#                                       # sample of 5,000 is served within minutes, the whole catalogue
#                                       # is built in the background and the app switches to it
#   bash scripts/run.sh --limit 3000    # a quick look on the first 3,000 datasets (a few minutes)
#   CATALOG=https://.../export.csv.gz bash scripts/run.sh   # another export, path or URL
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=""
PORT=${PORT:-8050}
SAMPLE=${SAMPLE:-5000}
while [ $# -gt 0 ]; do
  case "$1" in
    --limit) LIMIT="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
FIRST_SAMPLE=""
[ -z "$LIMIT" ] && [ ! -e "artifacts/current/manifest.json" ] && FIRST_SAMPLE=1
# a first run exports the int8 model while its sample build reads the catalogue (below): the build
# waits for the export when it reaches its embeddings (a lock: one export, never two)
SETUP_EXPORT=${FIRST_SAMPLE:+later} bash scripts/setup.sh
CATALOG=${CATALOG:-../shared/data/catalog/export-dataset-20260116-055249.csv.gz}
OUT=artifacts${LIMIT:+/quick-$LIMIT}
BUILD=(.venv/bin/python -m models build --catalog "$CATALOG" --out "$OUT" --cache artifacts/cache/embeddings
       --models-dir artifacts/models)
full_build_in_background() {
  # the whole catalogue, in the background; the app switches to it by itself once published
  local pidfile="$OUT/full-build.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "[run] The whole catalogue is still being built (pid $(cat "$pidfile"), log $OUT/full-build.log)."
    return
  fi
  echo "[run] Building the whole catalogue in the background (log: $OUT/full-build.log); the app"
  echo "[run] switches to it without a restart when it is ready (open pages are told to reload)."
  nohup "${BUILD[@]}" --quiet > "$OUT/full-build.log" 2>&1 &
  echo $! > "$pidfile"
}
if [ -n "$LIMIT" ]; then
  if [ ! -e "$OUT/current/manifest.json" ]; then
    "${BUILD[@]}" --limit "$LIMIT"
  fi
elif [ ! -e "$OUT/current/manifest.json" ]; then
  echo "[run] No artifacts yet. First a stratified sample of $SAMPLE datasets (every producer and"
  echo "[run] theme; a few minutes), served at once; then the whole catalogue in the background."
  mkdir -p "$OUT"
  # the sample is embedded with the int8 encoder (x2-x5 faster, README); the whole catalogue with
  # the default model (EXPLORER_MODEL), whose build replaces it. The sample publishes its map and
  # search first (--publish-early): the app starts on them while the sample's passages and topics
  # are computed; the whole catalogue's build follows in the background.
  echo "[run] Sample build log: $OUT/sample-build.log"
  echo "[setup] exporting the model to int8 ONNX beside it (once; log: $OUT/export-int8.log)"
  .venv/bin/python -m models export-onnx --variant int8 --models-dir artifacts/models \
    > "$OUT/export-int8.log" 2>&1 &
  ( "${BUILD[@]}" --sample "$SAMPLE" --lda-ks 20 --model "${SAMPLE_MODEL:-e5-small-offline-onnx-int8}" \
      --publish-early > "$OUT/sample-build.log" 2>&1 && full_build_in_background ) &
  sample=$!
  while [ ! -e "$OUT/current/manifest.json" ]; do
    if ! kill -0 "$sample" 2>/dev/null; then
      tail -n 20 "$OUT/sample-build.log" >&2
      echo "[run] The sample build failed (log: $OUT/sample-build.log)." >&2
      exit 1
    fi
    sleep 1
  done
  echo "[run] Map and search of the sample ready; its topics and passages follow."
elif grep -q '"partial"' "$OUT/current/manifest.json"; then
  full_build_in_background  # a sample is served: finish the job
fi
exec .venv/bin/python app.py --artifacts "$OUT" --port "$PORT"
