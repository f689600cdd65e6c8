#!/usr/bin/env bash
# Set up, build the artifacts if missing, and serve the explorer on http://127.0.0.1:8050
#   bash scripts/run.sh                 # the full non-archived catalogue (first build: about an hour)
#   bash scripts/run.sh --limit 3000    # a quick look on the first 3,000 datasets (a few minutes)
#   CATALOG=https://.../export.csv.gz bash scripts/run.sh   # another export, path or URL
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=""
PORT=${PORT:-8050}
while [ $# -gt 0 ]; do
  case "$1" in
    --limit) LIMIT="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bash scripts/setup.sh
CATALOG=${CATALOG:-../shared/data/catalog/export-dataset-20260116-055249.csv.gz}
OUT=artifacts${LIMIT:+/quick-$LIMIT}
if [ ! -e "$OUT/current/manifest.json" ]; then
  if [ -z "$LIMIT" ]; then
    echo "[run] No artifacts yet: building them for the whole non-archived catalogue."
    echo "[run] Embedding ~70,500 datasets takes about an hour on 2 CPU cores (progress bar with"
    echo "[run] time left below). For a quick look first: bash scripts/run.sh --limit 3000"
  fi
  .venv/bin/python -m models build --catalog "$CATALOG" --out "$OUT" ${LIMIT:+--limit "$LIMIT"} \
    --cache artifacts/cache/embeddings --models-dir artifacts/models
fi
exec .venv/bin/python app.py --artifacts "$OUT" --port "$PORT"
