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

# A test that hangs fails alone, after this many seconds, instead of
# holding CI until its own timeout; a file may set a smaller one.
: "${BATS_TEST_TIMEOUT:=600}"
export BATS_TEST_TIMEOUT

# The monotonic clock in milliseconds, for elapsed-time checks.
now_ms() {
	$PY -c 'import time; print(int(time.monotonic() * 1000))'
}

# The engine the Kafka-facing tests run on: kbroker (the default: an
# embedded mock cluster per test, faults through its --control) or kafka
# (the real local cluster of scripts/kafka, one per Bats file, started by
# setup_file's start_engine, its faults real: a broker killed, stopped,
# restarted). The same test runs on both.
: "${TXS_KAFKA:=kbroker}"
export TXS_KAFKA
case $TXS_KAFKA in
kbroker|kafka) ;;
*) echo "TXS_KAFKA=$TXS_KAFKA: the engines are kbroker and kafka" >&2; exit 1 ;;
esac

on_kafka() {
	[ "$TXS_KAFKA" = kafka ]
}

# A test that needs what only one engine has says so and what it is.
only_on() {
	[ "$TXS_KAFKA" = "$1" ] || skip "${2:-needs $1}"
}

# engine_free: first in a test whose subject is the program's input,
# options or files, not its traffic with a cluster: it runs on kbroker,
# and the real cluster's pass skips it (it would run the same code again).
engine_free() {
	only_on kbroker "its subject is not the cluster: kbroker's pass runs it"
}

kafka() {
	"$TXS_SRCDIR/scripts/kafka" "$@" --dir "$KAFKA_DIR"
}

# start_engine [scripts/kafka start args...]: in setup_file. On the real
# engine, start this file's cluster; it is stopped by stop_engine in
# teardown_file, and by scripts/kafka itself if this bats process dies.
# Under make check-kafka (TXS_KAFKA_DIR set) the pass's cluster instead,
# which must have been started with each -X setting asked for here;
# nodes a file before this one left down or paused are brought back.
start_engine() {
	on_kafka || return 0
	if [ -n "${TXS_KAFKA_DIR:-}" ]; then
		KAFKA_DIR=$TXS_KAFKA_DIR
		export KAFKA_DIR
		shared_engine_has "$@" || return 1
		KAFKA_CLUSTER=$(head -n 1 "$KAFKA_DIR/bootstrap") || return 1
		export KAFKA_CLUSTER
		heal_kafka
		return
	fi
	KAFKA_DIR=$BATS_FILE_TMPDIR/kafka
	export KAFKA_DIR
	if ! "$TXS_SRCDIR/scripts/kafka" start --dir "$KAFKA_DIR" --owner "$BATS_ROOT_PID" "$@" \
		> "$BATS_FILE_TMPDIR/kafka.bootstrap" 2> "$BATS_FILE_TMPDIR/kafka.err"; then
		cat "$BATS_FILE_TMPDIR/kafka.err" >&2
		return 1
	fi
	KAFKA_CLUSTER=$(head -n 1 "$BATS_FILE_TMPDIR/kafka.bootstrap")
	export KAFKA_CLUSTER
}

# shared_engine_has [-X PROPERTY=VALUE]...: every broker of the shared
# cluster runs with those settings.
shared_engine_has() {
	local f
	while [ $# -gt 0 ]; do
		case $1 in
		-X)
			for f in "$KAFKA_DIR"/kafka-*/server.properties; do
				grep -qxF -- "$2" "$f" && continue
				echo "the shared cluster in $KAFKA_DIR lacks $2 ($f): add it to KAFKA_ENGINE_SETTINGS in Makefile.am" >&2
				return 1
			done
			shift 2
			;;
		*)
			echo "start_engine $1: the shared cluster was started without it" >&2
			return 1
			;;
		esac
	done
}

# The file's own cluster stopped; the shared one is make check-kafka's.
stop_engine() {
	on_kafka || return 0
	[ -n "${KAFKA_DIR:-}" ] || return 0
	[ "$KAFKA_DIR" != "${TXS_KAFKA_DIR:-}" ] || return 0
	"$TXS_SRCDIR/scripts/kafka" stop --dir "$KAFKA_DIR"
}

# start_broker [kbroker args...]: a cluster for this test, on the engine
# chosen. On kbroker, one of its own on free ports: exports BROKERS (its
# bootstrap list) and KBROKER_PID; its stdout (the bootstrap line, then
# control answers) and stderr are kept in $BATS_TEST_TMPDIR/kbroker.out
# and kbroker.err. On the real cluster, the file's cluster emptied of
# every topic and group and given the topics of -T NAME:PARTITIONS
# (kbroker's other options have no meaning there). stop_broker ends it.
start_broker() {
	local dir=$BATS_TEST_TMPDIR _
	if on_kafka; then
		start_kafka_topics "$@"
		return
	fi
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

start_kafka_topics() {
	local topics=()
	while [ $# -gt 0 ]; do
		case $1 in
		-T) topics+=("$2"); shift 2 ;;
		-n|-P|--metrics-addr|--control|--bootstrap-file) shift 2 ;;
		*) shift ;;
		esac
	done
	# A test that failed with a broker down leaves it down: heal first.
	heal_kafka
	"$TXS_SRCDIR/tests/helpers/kafka_admin.py" "$KAFKA_CLUSTER" reset "${topics[@]}"
	BROKERS=$KAFKA_CLUSTER
	KBROKER_PID=
	export BROKERS KBROKER_PID
}

# Every node of the file's cluster up again: resumed if paused,
# restarted if killed.
heal_kafka() {
	local name state f _
	# Each node's PID file names a process that runs (state not T, Z or
	# gone): nothing to heal, and no scripts/kafka status to wait for.
	for f in "$KAFKA_DIR"/*/pid; do
		read -r _ _ state _ 2>/dev/null < "/proc/$(cat "$f" 2>/dev/null)/stat" || state=gone
		case $state in T | t | Z | X | gone) break ;; esac
		state=
	done
	[ -n "$state" ] || return 0
	# scripts/kafka status: NAME id ID ROLE STATE pid PID ...
	while read -r name _ _ _ state _; do
		case $state in
		paused) kafka resume "$name" ;;
		down) kafka restart "$name" ;;
		esac
	done < <(kafka status || true)
}

# broker_control COMMAND...: send one command to the test's kbroker and
# print its answer; succeeds when the answer is "ok". On the real
# cluster, "down N" kills broker N (kafka-N) with SIGKILL and "up N"
# restarts it and waits until it serves; other commands have no real
# counterpart, and a test that needs them is kbroker's alone.
broker_control() {
	if on_kafka; then
		# shellcheck disable=SC2048,SC2086  # "down 1" is two words
		set -- $*
		case $1 in
		down) kafka kill "kafka-$2" && echo ok ;;
		up) kafka restart "kafka-$2" && echo ok ;;
		*) echo "broker_control $*: kbroker only"; return 1 ;;
		esac
		return
	fi
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
	on_kafka && return 0
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

# wait_until SECONDS COMMAND...: run COMMAND every WAIT_POLL seconds
# (0.1 by default) until it succeeds (status 0) or SECONDS have passed
# (status 1, saying what it waited for). Synchronise on a condition with
# it, never on a sleep.
wait_until() {
	local deadline=$((${EPOCHREALTIME/./} / 1000 + ${1%.*} * 1000))
	shift
	until "$@"; do
		if [ $((${EPOCHREALTIME/./} / 1000)) -ge "$deadline" ]; then
			echo "timed out waiting for: $*" >&2
			return 1
		fi
		sleep "${WAIT_POLL:-0.1}"
	done
}

# A TCP port on 127.0.0.1 that nothing listens on just now.
free_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# stop_pids SIGNAL: in teardown, stop what a test started in the
# background and listed in PIDS, then reap it.
stop_pids() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "-$1" "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
}

