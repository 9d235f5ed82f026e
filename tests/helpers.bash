# Shared setup for every tests/*.bats file. Programs come from the build
# tree (make check puts $(abs_top_builddir)/src first on PATH).
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

: "${TXS_SRCDIR:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)}"
: "${TXS_BUILDDIR:=$TXS_SRCDIR}"
export TXS_SRCDIR TXS_BUILDDIR

# Debian's python3, with Debian's modules (python3-kafka): the python3
# first on PATH may be another interpreter.
PY=/usr/bin/python3

# The monotonic clock in milliseconds, for elapsed-time checks.
now_ms() {
	$PY -c 'import time; print(int(time.monotonic() * 1000))'
}

# start_broker [kbroker args...]: run a kbroker for this test on free
# ports. Exports BROKERS (its bootstrap list) and KBROKER_PID; its stdout
# (the bootstrap line, then control answers) and stderr are kept in
# $BATS_TEST_TMPDIR/kbroker.out and kbroker.err. stop_broker ends it.
start_broker() {
	local dir=$BATS_TEST_TMPDIR _
	mkfifo "$dir/kbroker.control"
	kbroker --control "$dir/kbroker.control" --bootstrap-file "$dir/kbroker.bootstrap" "$@" \
		> "$dir/kbroker.out" 2> "$dir/kbroker.err" &
	KBROKER_PID=$!
	for _ in $(seq 100); do
		[ -s "$dir/kbroker.bootstrap" ] && break
		if ! kill -0 "$KBROKER_PID" 2>/dev/null; then
			echo "kbroker exited at start:" >&2
			cat "$dir/kbroker.err" >&2
			return 1
		fi
		sleep 0.1
	done
	if [ ! -s "$dir/kbroker.bootstrap" ]; then
		echo "kbroker did not start within 10 s:" >&2
		cat "$dir/kbroker.err" >&2
		return 1
	fi
	BROKERS=$(cat "$dir/kbroker.bootstrap")
	# One writer kept open: commands never block, and kbroker never sees EOF.
	exec {KBROKER_CONTROL_FD}> "$dir/kbroker.control"
	export BROKERS KBROKER_PID KBROKER_CONTROL_FD
}

# broker_control COMMAND...: send one command to the test's kbroker and
# print its answer; succeeds when the answer is "ok".
broker_control() {
	local out=$BATS_TEST_TMPDIR/kbroker.out before _ answer
	before=$(wc -l < "$out")
	echo "$*" >&"$KBROKER_CONTROL_FD"
	for _ in $(seq 50); do
		[ "$(wc -l < "$out")" -gt "$before" ] && break
		sleep 0.1
	done
	answer=$(sed -n "$((before + 1))p" "$out")
	echo "$answer"
	[ "$answer" = ok ]
}

# stop_broker: SIGTERM the test's kbroker and check that it exits 0.
stop_broker() {
	local rc=0 _
	[ -n "${KBROKER_PID:-}" ] || return 0
	kill -TERM "$KBROKER_PID" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$KBROKER_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$KBROKER_PID" 2>/dev/null; then
		echo "kbroker did not stop within 10 s of SIGTERM" >&2
		kill -KILL "$KBROKER_PID"
	fi
	wait "$KBROKER_PID" || rc=$?
	[ -n "${KBROKER_CONTROL_FD:-}" ] && exec {KBROKER_CONTROL_FD}>&-
	KBROKER_PID=
	if [ "$rc" -ne 0 ]; then
		echo "kbroker exited $rc; its stderr:" >&2
		cat "$BATS_TEST_TMPDIR/kbroker.err" >&2
		return 1
	fi
}

# A TCP port on 127.0.0.1 that nothing listens on just now.
free_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
