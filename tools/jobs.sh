# Runs named commands a few at a time, each with its own log, and reports
# each one's seconds and exit status. Sourced by tools/e2e.sh and .ci/run.
#
#   job NAME CMD...      queue a command (they start in queue order: queue
#                        the longest first)
#   run_jobs MAX LOGDIR  run the queue, at most MAX at once; LOGDIR/NAME.log
#                        holds each one's output. Returns 1 if any failed.
#   jobs_failed          the names of the failed jobs, after run_jobs
#   print_failed LOGDIR  print each failed job's whole log
#
# The jobs here (each e2e shard, bench profile, the sandbox) mostly wait on
# rate limits and reconcile loops: several at once share two cores well.

jobs_names=()
jobs_cmds=()
jobs_failed=()

job() {
	local name=$1
	shift
	jobs_names+=("$name")
	jobs_cmds+=("$(printf '%q ' "$@")")
}

run_jobs() {
	local max=$1 logs=$2 next=0 running=0 pid done_pid rc name
	local -A name_of start_of
	mkdir -p "$logs"
	jobs_failed=()
	while [ "$next" -lt "${#jobs_names[@]}" ] || [ "$running" -gt 0 ]; do
		while [ "$running" -lt "$max" ] && [ "$next" -lt "${#jobs_names[@]}" ]; do
			name=${jobs_names[$next]}
			bash -c "${jobs_cmds[$next]}" >"$logs/$name.log" 2>&1 &
			pid=$!
			name_of[$pid]=$name
			start_of[$pid]=$SECONDS
			printf '  start %s (%ss)\n' "$name" "$SECONDS"
			next=$((next + 1))
			running=$((running + 1))
		done
		rc=0
		wait -n -p done_pid || rc=$?
		running=$((running - 1))
		name=${name_of[$done_pid]}
		if [ "$rc" = 0 ]; then
			printf '  ok    %5ss  %s\n' "$((SECONDS - start_of[$done_pid]))" "$name"
		else
			jobs_failed+=("$name")
			printf '  FAIL  %5ss  %s (exit %s, log %s)\n' "$((SECONDS - start_of[$done_pid]))" "$name" "$rc" "$logs/$name.log"
		fi
	done
	jobs_names=()
	jobs_cmds=()
	[ "${#jobs_failed[@]}" = 0 ]
}

print_failed() {
	local f
	for f in "${jobs_failed[@]}"; do
		printf '\n== %s failed; its log:\n' "$f"
		cat "$1/$f.log"
	done
}
