#!/usr/bin/env bash
# Check that a wheel install works on its own: build the wheel, install it into a fresh
# venv in a temporary folder (PyTorch first: torch==2.13.0, the CPU build on machines
# that carry it locally; SNAKESIM_TORCH overrides it as in setup.sh), then list the
# shipped examples, copy the quick start out and run it, and run one by name, outside
# the repository. Exits non-zero on any failure.
#   PYTHON  interpreter for the venv (default: .venv/bin/python, else python3)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
python=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
torch_req=${SNAKESIM_TORCH:-torch==2.13.0}
work=$(mktemp -d "${TMPDIR:-/tmp}/snakesim-wheel-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$SECONDS
fail() { echo "wheel check: $*" >&2; exit 1; }

leftovers=()  # setuptools' build folders that this build adds to the checkout
for dir in build snakesim.egg-info; do [ -e "$dir" ] || leftovers+=("$repo/$dir"); done
"$python" -m pip wheel --quiet --no-deps -w "$work/dist" "$repo"
[ ${#leftovers[@]} -eq 0 ] || rm -rf "${leftovers[@]}"
wheel=$(ls "$work"/dist/snakesim-*.whl)
python3 -c 'import sys, zipfile; names = zipfile.ZipFile(sys.argv[1]).namelist()
missing = [n for n in ("snakesim/scenarios/quickstart.yaml",
                       "snakesim/scenarios/sweeps/heterogeneity.yaml",
                       "snakesim/scenarios/topologies/Abilene.json") if n not in names]
sys.exit(f"not in the wheel: {missing}" if missing else 0)' "$wheel"

"$python" -m venv "$work/venv"
venv=$work/venv/bin
"$venv/python" -m pip install --quiet "$torch_req"
"$venv/python" -m pip install --quiet "$wheel"

cd "$work"  # outside the repository: only the installed package is there
"$venv/snakesim" examples > examples.txt
grep -q '^quickstart  *scenario' examples.txt || fail "snakesim examples lists no quickstart"
grep -q '^sweeps/heterogeneity  *sweep' examples.txt || fail "no heterogeneity sweep listed"
"$venv/snakesim" init quickstart copy
"$venv/snakesim" run copy/quickstart.yaml --out results/copy -q
"$venv/snakesim" run quickstart --cost-only --out results/by-name -q 2> by-name.txt
grep -q 'using the shipped example quickstart' by-name.txt || fail "run by name said nothing"
for run in results/copy results/by-name; do
  for file in summary.json rounds.parquet transfers.parquet scenario.yaml; do
    [ -s "$run/$file" ] || fail "$run/$file missing"
  done
done
"$venv/python" -c 'import json, sys; s = json.load(open("results/copy/summary.json"))
sys.exit(0 if s["rounds"] == 10 and s["final_accuracy"] > 0.5 else f"bad summary: {s}")'
echo "wheel check: ok ($(basename "$wheel"), $((SECONDS - started)) s)"
