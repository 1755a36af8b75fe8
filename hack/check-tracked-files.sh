#!/usr/bin/env bash
# Fails when a tracked file is a build output: an ELF binary or larger than 1 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r -d '' f; do
	[ -f "$f" ] || continue
	size=$(stat -c %s "$f")
	if [ "$size" -gt 1048576 ]; then
		echo "tracked file larger than 1 MiB: $f ($size bytes)"; bad=1
	fi
	if [ "$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')" = "7f454c46" ]; then
		echo "tracked file is an ELF binary: $f"; bad=1
	fi
done < <(git ls-files -z)
exit $bad
