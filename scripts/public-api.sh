#!/usr/bin/env bash
# Rewrites src/<project>/PublicAPI.Unshipped.txt from the build: every public symbol not in PublicAPI.Shipped.txt,
# hand-written and generated (the views and launch stubs of NcclEp.Generators) alike. Run it after a deliberate API
# change and review the diff; CI fails on any public symbol the files do not list (RS0016) or list wrongly (RS0017).
#   bash scripts/public-api.sh            (both shipped projects: src/NcclEp, src/NcclEp.Graphs)
set -euo pipefail
cd "$(dirname "$0")/.."
for project in src/NcclEp src/NcclEp.Graphs; do
  unshipped="$project/PublicAPI.Unshipped.txt"
  printf '#nullable enable\n' > "$unshipped"
  log=$(mktemp)
  # -p:TreatWarningsAsErrors=false: the missing entries are reported, not fatal, while the file is rebuilt.
  dotnet build "$project" -c Release -p:TreatWarningsAsErrors=false -nodeReuse:false > "$log" 2>&1 || true
  python3 - "$log" "$unshipped" "$project" <<'PY'
import re, sys
log, unshipped, project = sys.argv[1:]
symbols = set()
for line in open(log, encoding="utf-8"):
    if f"/{project}/" not in line.replace("\\", "/") and f"{project}/" not in line: continue
    m = re.search(r"RS0016: Symbol '(.*?)' is not part of the declared public API", line)
    if m: symbols.add(m.group(1))
with open(unshipped, "a", encoding="utf-8") as f:
    for s in sorted(symbols, key=lambda s: s.replace("~", "")): f.write(s + "\n")
print(f"{unshipped}: {len(symbols)} symbols")
PY
  rm -f "$log"
done
