#!/usr/bin/env bash
# Usage: expect_failure.sh MESSAGE COMMAND...
# Passes when COMMAND exits non-zero, prints MESSAGE on stderr as one "error:" line, and does
# not crash (exit codes above 128 are signals).
set -u
message=$1
shift
stderr=$("$@" 2>&1 >/dev/null)
status=$?
echo "exit $status: $stderr"
[ "$status" -ne 0 ] && [ "$status" -lt 128 ] || exit 1
grep -q -- "$message" <<<"$stderr" || exit 1
