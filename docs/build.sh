#!/usr/bin/env bash
# Build the documentation website (offline; no notebook is executed):
#   pip install -e ".[docs]" && bash docs/build.sh          # -> docs/_build/html/index.html
#   bash docs/build.sh /tmp/site                            # -> /tmp/site/html/index.html
# docs/conf.py stages the sources (docs/*.md, notebooks/*.ipynb, API pages) into OUT/src.
# Warnings are errors; afterwards check_site.py fails on a broken internal link or anchor,
# and on any script, stylesheet, image or font the pages would fetch from the web.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-docs/_build}"
rm -rf "$OUT/src" "$OUT/html" "$OUT/doctrees"
mkdir -p "$OUT/src"
python -m sphinx -b html -W --keep-going -q -j "${DOCS_JOBS:-auto}" \
    -c docs -d "$OUT/doctrees" "$OUT/src" "$OUT/html"
python docs/check_site.py "$OUT/html"
