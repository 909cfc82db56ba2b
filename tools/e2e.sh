#!/usr/bin/env bash
# The end-to-end tests (tests/e2e), in shards: each stack of TestStacks and
# every other top-level test runs in its own process, with its own control
# plane and private network, a few at once. `make e2e` and CI run this.
#
#   tools/e2e.sh                  compile, run every shard, print a summary
#   tools/e2e.sh --shard RUN NAME run one shard (-test.run RUN) and fail
#                                 unless NAME passed (used by the above)
#
#   E2E_JOBS  shards at once (default 4: they mostly wait; see the README)
#   E2E_LOGS  where each shard's log goes (default /tmp/argo-platform-e2e)
#   E2E_BIN   a compiled test binary (go test -c -tags e2e) instead of
#             compiling one here
#   E2E_AS    when run as root, the user the shards run as (CI's non-root
#             pass); E2E_ROOT is then the work tree they read
set -euo pipefail

root=${E2E_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

# shard runs the compiled tests matching $1.
shard() {
	local cmd=("$E2E_BIN" -test.v -test.count=1 -test.timeout 40m -test.run "$1")
	if [ -n "${E2E_AS:-}" ] && [ "$(id -u)" = 0 ]; then
		cmd=(runuser -u "$E2E_AS" -- env -i PATH="$PATH" HOME="$(getent passwd "$E2E_AS" | cut -d: -f6)" \
			TMPDIR=/tmp CI="${CI:-}" ARGO_PLATFORM_ROOT="$root" "${cmd[@]}")
	fi
	(cd "$root" && "${cmd[@]}")
}

# stack_names are the stacks, from their Pulumi.<stack>.yaml files.
stack_names() {
	(cd "$root" && ls Pulumi.*.yaml | sed -E 's/^Pulumi\.(.*)\.yaml$/\1/')
}

# queue_e2e queues one job per shard (tools/jobs.sh), longest first: with
# "stacks", TestStacks' stacks (about three minutes each); with "others",
# every other test, TestKilledUpConverges (two minutes) first; with nothing,
# both.
queue_e2e() {
	local stack t
	if [ "${1:-stacks}" = stacks ]; then
		for stack in $(stack_names); do
			job "e2e-TestStacks-$stack" bash "$root/tools/e2e.sh" --shard "^TestStacks\$/^$stack\$" "TestStacks/$stack"
		done
	fi
	[ "${1:-others}" = others ] || return 0
	for t in $(cd "$root" && grep -ohE '^func (Test[A-Za-z0-9_]+)\(t \*testing\.T\)' tests/e2e/*_test.go |
		sed -E 's/^func (Test[A-Za-z0-9_]+).*/\1/' | grep -vx TestStacks | sort | awk '/^TestKilledUpConverges$/ { print; next } { rest = rest $0 "\n" } END { printf "%s", rest }'); do
		job "e2e-$t" bash "$root/tools/e2e.sh" --shard "^$t\$" "$t"
	done
}

# e2e_report prints, from the shards' logs, every test's outcome and the
# figures, and the five slowest tests (reported, never asserted; TestStacks
# itself is left out: each shard runs one of its stacks). sed, not head,
# takes the five: head leaves early, and sort's next write then dies of
# SIGPIPE, which pipefail makes the script's exit (141) once the list
# outgrows a pipe's first write.
e2e_report() {
	local logs=$1
	grep -hE -- '^\s*--- (PASS|FAIL|SKIP)|FIGURE|e2e:|uid' "$logs"/e2e-*.log || true
	echo "slowest end-to-end tests (reported, never asserted):"
	grep -hE -- '^\s*--- PASS: Test[^ ]+ \([0-9.]+s\)' "$logs"/e2e-*.log |
		sed -E 's/^\s*--- PASS: ([^ ]+) \(([0-9.]+)s\)/\2 \1/' | grep -v ' TestStacks$' | sort -rn | sed -n 1,5p
}

if [ "${1:-}" = --shard ]; then
	[ $# = 3 ] || { echo "usage: tools/e2e.sh --shard RUN NAME" >&2; exit 2; }
	: "${E2E_BIN:?tools/e2e.sh --shard needs E2E_BIN}"
	out=$(mktemp)
	rc=0
	# A pattern that matched nothing must not pass as "no tests to run".
	shard "$2" 2>&1 | tee "$out" || rc=$?
	if [ "$rc" = 0 ] && ! grep -qE -- "^\s*--- PASS: $3 \(" "$out"; then
		echo "tools/e2e.sh: shard $2 exited 0 but $3 did not pass (no test matched?)"
		rc=1
	fi
	rm -f "$out"
	exit "$rc"
fi

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	source "$root/tools/jobs.sh"
	logs=${E2E_LOGS:-/tmp/argo-platform-e2e}
	rm -rf "$logs"
	mkdir -p "$logs"
	if [ -z "${E2E_BIN:-}" ]; then
		export E2E_BIN="$logs/e2e.test"
		(cd "$root" && go test -c -tags e2e -o "$E2E_BIN" ./tests/e2e/)
	fi
	queue_e2e
	rc=0
	run_jobs "${E2E_JOBS:-4}" "$logs" || rc=$?
	e2e_report "$logs"
	print_failed "$logs"
	exit "$rc"
fi
