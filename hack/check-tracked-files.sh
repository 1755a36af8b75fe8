#!/usr/bin/env bash
# Fails when a tracked file is a build output: an ELF binary or larger than 1 MiB.
# One stat and one grep over all tracked files (a fork per file made this
# the slowest step of make lint on a loaded machine).
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C
bad=0
while read -r size f; do
	if [ "$size" -gt 1048576 ]; then
		echo "tracked file larger than 1 MiB: $f ($size bytes)"; bad=1
	fi
done < <(git ls-files -z | xargs -0 -r stat -c '%s %n' -- 2>/dev/null || true)
# grep finds candidates (a line starting with the ELF magic); the first four
# bytes decide.
while IFS= read -r -d '' f; do
	if [ "$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')" = "7f454c46" ]; then
		echo "tracked file is an ELF binary: $f"; bad=1
	fi
done < <(git ls-files -z | xargs -0 -r grep -lZP '^\x7fELF' -- 2>/dev/null || true)
exit $bad
