#!/usr/bin/env bash
# Print the path of a Python interpreter >= 3.12, looking at pyenv, python3.13, python3.12, python3.
# Exits 1 with a message naming what to install when none is found.
set -u
candidates=()
if command -v pyenv >/dev/null 2>&1; then
  for v in 3.12 3.13; do
    prefix=$(pyenv prefix "$v" 2>/dev/null) && candidates+=("$prefix/bin/python3")
  done
fi
candidates+=(python3.12 python3.13 python3 python)
for c in "${candidates[@]}"; do
  if command -v "$c" >/dev/null 2>&1 &&
     "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
    command -v "$c"
    exit 0
  fi
done
echo "scenario-toolkit needs Python >= 3.12 (PyMC 6 requires it); none was found on PATH or in pyenv." >&2
echo "Install one (e.g. 'pyenv install 3.12') and run make again." >&2
exit 1
