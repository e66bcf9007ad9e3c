#!/usr/bin/env bash
# compile-commands.sh - print a compile_commands.json for editors (clangd),
# with the flags the Makefile uses. `make compile_commands.json` runs it.
set -eu
root=$(pwd)
flags="-std=c11 -Wall -Wextra -Werror -D_DEFAULT_SOURCE -Iinclude"
first=1
echo "["
for f in src/*.c src/interpose/*.c lessons/*/*.c bench/*.c; do
    [ -f "$f" ] || continue
    [ $first = 1 ] || echo ","
    first=0
    printf '  {"directory": "%s", "file": "%s", "command": "cc %s -c %s"}' "$root" "$f" "$flags" "$f"
done
echo
echo "]"
