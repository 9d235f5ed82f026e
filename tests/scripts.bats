#!/usr/bin/env bats
# scripts/systemd (the producer, repartition and aggregator units) and
# scripts/completion/txstream (bash completion). The units are checked
# by systemd's own tools, taken apart as systemd reads them, run by bash
# as systemd runs them and, as root, started under a real systemd in
# namespaces of its own; totals are checked with Python's decimal module.
# The completion is driven as readline drives it, and what it offers is
# compared with each program's --help, read here on its own.

load helpers

UNITS=$TXS_SRCDIR/scripts/systemd
COMPLETION=$TXS_SRCDIR/scripts/completion/txstream
PROGRAMS=(txgen kpub ksub jagg jfmt kbroker)
SERVICES=(txstream-producer.service txstream-repartition.service txstream-aggregator@.service)
BASH_COMPLETION=${BASH_COMPLETION:-/usr/share/bash-completion/bash_completion}

setup() {
	cd "$BATS_TEST_TMPDIR" || return
}

teardown() {
	stop_pipeline
	stop_systemd
	stop_tmux
	stop_broker
}

# stop_pipeline: SIGTERM a unit's pipeline that a failed test left
# running (its bash passes the signal on), and wait for it.
stop_pipeline() {
	local _
	[ -n "${PIPELINE_PID:-}" ] || return 0
	kill -TERM "$PIPELINE_PID" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$PIPELINE_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$PIPELINE_PID" 2>/dev/null
	PIPELINE_PID=
}

need_systemd_analyze() {
	command -v systemd-analyze >/dev/null ||
		fail "systemd-analyze is missing: install Debian's systemd package"
}

# exec_start UNIT: the script of UNIT's ExecStart=/bin/bash -c '...', as
# systemd reads it (a line ending in a backslash goes on in the next, the
# backslash read as a space; then quotes are removed), before systemd's
# own expansion of $$.
exec_start() {
	$PY - "$1" <<'EOF'
import re, shlex, sys
text = re.sub(r"\\\n", " ", open(sys.argv[1]).read())
cmds = [l.split("=", 1)[1] for l in text.splitlines() if l.startswith("ExecStart=")]
assert len(cmds) == 1, cmds
argv = shlex.split(cmds[0])
assert argv[:2] == ["/bin/bash", "-c"] and len(argv) == 3, argv
print(argv[2])
EOF
}

# unit_env UNIT [FILE...]: the environment UNIT's Environment= lines set,
# then FILEs in EnvironmentFile= syntax, one VAR=value a line.
unit_env() {
	$PY - "$@" <<'EOF'
import re, shlex, sys
text = re.sub(r"\\\n", " ", open(sys.argv[1]).read())
env = {}
for l in text.splitlines():
    if l.startswith("Environment="):
        for a in shlex.split(l.split("=", 1)[1]):
            k, v = a.split("=", 1)
            env[k] = v
for f in sys.argv[2:]:
    for l in open(f):
        l = l.strip()
        if l and l[0] not in "#;":
            k, v = l.split("=", 1)
            env[k.strip()] = " ".join(shlex.split(v))
for k, v in env.items():
    print(f"{k}={v}")
EOF
}

# totals FILE: each merchant's exact totals over the transaction records
# in FILE, in the form last_totals prints, sorted by merchant.
totals() {
	$PY -c '
import collections, decimal, json, sys
amount, count = collections.defaultdict(decimal.Decimal), collections.Counter()
for line in open(sys.argv[1]):
    r = json.loads(line, parse_float=decimal.Decimal)
    amount[r["merchantId"]] += r["amount"]
    count[r["merchantId"]] += 1
for m in sorted(count):
    print(m, format(amount[m].normalize(), "f"), count[m])
' "$1"
}

# last_totals: the last aggregate record per merchant on stdin (the
# answer a changelog consumer keeps), as "merchant totalAmount count".
last_totals() {
	$PY -c '
import decimal, json, sys
last = {}
for line in sys.stdin:
    r = json.loads(line, parse_float=decimal.Decimal)
    last[r["merchantId"]] = r
for m in sorted(last):
    print(m, format(decimal.Decimal(last[m]["totalAmount"]).normalize(), "f"), last[m]["transactionCount"])
'
}

# --- The units, as systemd's tools see them ------------------------------

@test "systemd: every unit passes systemd-analyze verify without a warning" {
	need_systemd_analyze
	# The template is verified as an instance, which systemd makes from
	# the template file beside it.
	run systemd-analyze verify --man=no "$UNITS/txstream-producer.service" \
		"$UNITS/txstream-repartition.service" "$UNITS/txstream-aggregator@1.service"
	assert_success
	assert_output ''
}

@test "systemd: verify catches a broken unit (the check above can fail)" {
	need_systemd_analyze
	sed 's/^Restart=on-failure/Restart=sometimes/' "$UNITS/txstream-producer.service" > broken.service
	run systemd-analyze verify --man=no "$PWD/broken.service"
	assert_output --partial 'sometimes'
}

@test "systemd: every man page a unit names in Documentation= is in man/" {
	for u in "${SERVICES[@]}"; do
		pages=$(sed -n 's/^Documentation=//p' "$UNITS/$u" | tr ' ' '\n' | sed -n 's/^man:\(.*\)(\([0-9]\))$/\1.\2/p')
		[ -n "$pages" ] || fail "$u names no man page"
		for p in $pages; do
			[ -f "$TXS_SRCDIR/man/$p" ] || fail "$u names man:$p, which is not in man/"
		done
	done
}

@test "systemd: systemd-analyze security rates every unit's sandbox at most 2.0 (OK)" {
	need_systemd_analyze
	for u in "${SERVICES[@]}"; do
		run systemd-analyze security --offline=yes --threshold=20 "$UNITS/$u"
		assert_success
		assert_line --partial 'Overall exposure level'
	done
}

@test "systemd: the units keep state, restart on failure, read environment files and run sandboxed" {
	for u in "${SERVICES[@]}"; do
		for line in 'Restart=on-failure' 'KillMode=mixed' 'KillSignal=SIGTERM' \
			'EnvironmentFile=/etc/txstream/txstream.env' 'DynamicUser=yes' \
			'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' 'NoNewPrivileges=yes' \
			'CapabilityBoundingSet=' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
			'SystemCallFilter=@system-service' 'MemoryDenyWriteExecute=yes'; do
			grep -qxF "$line" "$UNITS/$u" || fail "$u lacks $line"
		done
		grep -qx 'StateDirectory=txstream/.*' "$UNITS/$u" || fail "$u has no StateDirectory="
		# Longer than kpub's --flush-timeout, 30 s by default.
		t=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$UNITS/$u")
		[ "${t:-0}" -gt 30 ] || fail "$u: TimeoutStopSec=${t}s is not above kpub's 30 s flush"
	done
	grep -qxF 'StateDirectory=txstream/aggregator-%i' "$UNITS/txstream-aggregator@.service"
	grep -qxF 'EnvironmentFile=-/etc/txstream/aggregator-%i.env' "$UNITS/txstream-aggregator@.service"
}

@test "systemd: each ExecStart is a bash script that parses, every \$ left to bash" {
	for u in "${SERVICES[@]}"; do
		raw=$(exec_start "$UNITS/$u")
		# systemd would expand $VAR and ${VAR} itself, unquoted, and %x.
		rest=${raw//\$\$/}
		[[ $rest != *\$* ]] || fail "$u: a \$ that systemd, not bash, would expand: ${rest#*\$}"
		[[ $raw != *%* ]] || fail "$u: a % that systemd would read as a specifier"
		run bash -n -c "${raw//\$\$/\$}"
		assert_success
		assert_output ''
		[[ $raw == *'set -o pipefail'* ]] || fail "$u: a failing program would not fail the unit"
	done
}

@test "systemd: the example environment files are valid KEY=VALUE lines" {
	for f in "$UNITS/txstream.env.example" "$UNITS/aggregator.env.example"; do
		run grep -vE '^(#.*|[A-Z_][A-Z0-9_]*=.*|)$' "$f"
		assert_failure
	done
	run unit_env "$UNITS/txstream-aggregator@.service" "$UNITS/txstream.env.example" \
		"$UNITS/aggregator.env.example"
	assert_success
	assert_line 'PARTITIONS=0-2'
	assert_line --regexp '^KAFKA_BROKERS=.+'
}

# --- The pipelines, run by bash as systemd runs them ---------------------

@test "systemd: the aggregator's pipeline drains on SIGTERM: jagg's final totals reach Kafka" {
	start_broker -T financial_transactions:5 -T transaction_aggregates:3
	txgen -s 11 -n 600 -r 0 > tx.ndjson
	run -0 kpub -b "$BROKERS" -t financial_transactions --key-field userId tx.ndjson
	mkdir state
	script=$(exec_start "$UNITS/txstream-aggregator@.service")
	mapfile -t envs < <(unit_env "$UNITS/txstream-aggregator@.service")
	# In final mode jagg writes only at the end: after the SIGTERM.
	env "${envs[@]}" KAFKA_BROKERS="$BROKERS" STATE_DIRECTORY="$PWD/state" \
		JAGG_ARGS='--mode final --checkpoint-interval 0.1s' \
		bash -c "${script//\$\$/\$}" > pipeline.out 2> pipeline.err &
	PIPELINE_PID=$!
	for _ in $(seq 200); do
		n=$($PY -c 'import json, sys; print(sum(sum(p.values()) for p in json.load(open(sys.argv[1]))["offsets"].values()))' state/checkpoint.json 2>/dev/null || echo 0)
		[ "$n" -eq 600 ] && break
		sleep 0.1
	done
	[ "$n" -eq 600 ] || fail "jagg absorbed $n of 600 records in 20 s: $(cat pipeline.err)"
	run -0 --separate-stderr ksub -b "$BROKERS" -t transaction_aggregates -e
	assert_output ''
	kill -TERM "$PIPELINE_PID"
	rc=0
	wait "$PIPELINE_PID" || rc=$?
	PIPELINE_PID=
	[ "$rc" -eq 0 ] || fail "the pipeline exited $rc after SIGTERM: $(cat pipeline.err)"
	run -0 --separate-stderr ksub -b "$BROKERS" -t transaction_aggregates -e
	assert_equal "$(last_totals <<< "$output")" "$(totals tx.ndjson)"
	assert_equal "$(cat pipeline.err)" ''
}

@test "systemd: a program failing inside the pipeline fails the unit, not only the last one" {
	# jagg refuses a checkpoint of another computation (exit 78); ksub
	# and kpub end quietly around it. pipefail makes the unit's status 78,
	# which RestartPreventExitStatus= keeps from restarting in a loop.
	start_broker -T financial_transactions:5 -T transaction_aggregates:3
	# ksub sees that jagg is gone when it next writes: give it messages.
	txgen -s 3 -n 10 -r 0 | kpub -b "$BROKERS" -t financial_transactions
	mkdir state
	echo '{"merchantId":"m"}' | jagg -g merchantId other=count --checkpoint state/checkpoint.json > /dev/null
	script=$(exec_start "$UNITS/txstream-aggregator@.service")
	mapfile -t envs < <(unit_env "$UNITS/txstream-aggregator@.service")
	run --separate-stderr timeout 60 env "${envs[@]}" KAFKA_BROKERS="$BROKERS" \
		STATE_DIRECTORY="$PWD/state" bash -c "${script//\$\$/\$}"
	assert_failure 78
	# shellcheck disable=SC2154
	[[ $stderr == *jagg:* ]] || fail "no word from jagg: $stderr"
	grep -qx 'RestartPreventExitStatus=64 78' "$UNITS/txstream-aggregator@.service"
}

# --- The units under a real systemd ------------------------------------

# start_systemd: boot systemd as PID 1 of new mount, PID, network, UTS,
# IPC and cgroup namespaces, on a throwaway root: /usr and /etc of this
# machine read-only (/etc under an overlay), the rest fresh tmpfs, /sys
# and /proc/sys read-only, and the units that load kernel modules, set
# sysctls or the clock masked. So what systemd does at boot (tmpfiles
# emptying /tmp, for one) stays inside. The programs under test are
# copied to its /usr/local/bin; the units and $SD/etc/txstream to its
# /etc; kbroker-test.service serves 127.0.0.1:9092. Sets SD (the test's
# directory), SD_PID (systemd, as this machine sees it) and SD_CGROUP.
start_systemd() {
	SD=$BATS_TEST_TMPDIR/sd
	local p _
	mkdir -p "$SD/bin" "$SD/etc/systemd/system" "$SD/etc/txstream"
	for p in txgen kpub ksub jagg kbroker; do
		command -v "$p" >/dev/null || fail "$p is not on PATH"
		cp "$(command -v "$p")" "$SD/bin/"
	done
	cp "$UNITS"/*.service "$SD/etc/systemd/system/"
	# Units that would reach past the namespaces into the kernel.
	for p in systemd-modules-load.service systemd-binfmt.service systemd-sysctl.service \
		systemd-udevd.service systemd-udev-trigger.service systemd-timesyncd.service \
		systemd-journald-audit.socket; do
		ln -s /dev/null "$SD/etc/systemd/system/$p"
	done
	# With a sanitizer build: LeakSanitizer needs ptrace, which the
	# sandbox forbids; the other checks still run.
	mkdir "$SD/etc/systemd/system/service.d"
	printf '[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n' > "$SD/etc/systemd/system/service.d/sanitizers.conf"
	cat > "$SD/etc/systemd/system/kbroker-test.service" <<-'EOF'
	[Service]
	ExecStart=/usr/local/bin/kbroker -n 1 -P 9092 -T financial_transactions:5 -T transaction_aggregates:3 -T transactions_by_merchant:5
	EOF
	cat > "$SD/etc/systemd/system/txstream-test.target" <<-'EOF'
	[Unit]
	Description=txstream test
	Wants=kbroker-test.service
	EOF
	cat > "$SD/boot.sh" <<-'EOF'
	#!/bin/bash
	set -eu
	dir=$1
	root=$dir/root
	mount --make-rprivate /
	mkdir -p "$root"
	mount -t tmpfs -o mode=0755 tmpfs "$root"
	mkdir -p "$root"/usr "$root"/etc "$root"/proc "$root"/sys "$root"/dev "$root"/run \
		"$root"/tmp "$root"/var "$root"/home "$root"/root "$root"/.etc/upper "$root"/.etc/work
	mount --rbind /usr "$root"/usr
	mount -o remount,bind,ro "$root"/usr
	for l in /bin /sbin /lib /lib32 /lib64 /libx32; do
		if [ -L "$l" ]; then
			ln -s "$(readlink "$l")" "$root$l"
		elif [ -d "$l" ]; then
			mkdir "$root$l"
			mount --rbind "$l" "$root$l"
			mount -o remount,bind,ro "$root$l"
		fi
	done
	mount -t overlay overlay -o "lowerdir=/etc,upperdir=$root/.etc/upper,workdir=$root/.etc/work" "$root"/etc
	cp -a "$dir"/etc/. "$root"/etc/
	mount -t tmpfs tmpfs "$root"/usr/local/bin
	cp "$dir"/bin/* "$root"/usr/local/bin/
	mount -t proc proc "$root"/proc
	mount --bind "$root"/proc/sys "$root"/proc/sys
	mount -o remount,bind,ro "$root"/proc/sys
	mount -t sysfs -o ro sysfs "$root"/sys
	mount -t cgroup2 cgroup2 "$root"/sys/fs/cgroup
	mount -t tmpfs -o mode=0755 tmpfs "$root"/dev
	for n in null zero full random urandom tty; do
		touch "$root/dev/$n"
		mount --bind "/dev/$n" "$root/dev/$n"
	done
	mkdir "$root"/dev/pts "$root"/dev/shm
	mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root"/dev/pts
	ln -s pts/ptmx "$root"/dev/ptmx
	mount -t tmpfs -o mode=1777 tmpfs "$root"/dev/shm
	chmod 1777 "$root"/tmp
	mkdir -p "$root"/var/lib "$root"/var/log "$root"/var/tmp "$root"/var/cache
	ln -s ../run "$root"/var/run
	cd "$root"
	mkdir .oldroot
	pivot_root . .oldroot
	umount -l /.oldroot
	rmdir /.oldroot
	exec env container=txstream-test /lib/systemd/systemd --system \
		--unit=txstream-test.target --log-target=console --log-level=warning
	EOF
	# A cgroup v2 group of its own, which the cgroup namespace makes the
	# root of systemd's (unified) hierarchy. Not v1: systemd would mount
	# v1 controllers whose root is this machine's.
	local v2
	v2=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
	[ -n "$v2" ] || fail "no cgroup v2 file system mounted, to give the test's systemd a cgroup"
	SD_CGROUP=$v2/txstream-test.$$.$BATS_TEST_NUMBER
	mkdir "$SD_CGROUP"
	chmod +x "$SD/boot.sh"
	# shellcheck disable=SC2016
	bash -c 'echo $$ > "$1/cgroup.procs" && exec unshare --mount --pid --fork --net --uts --ipc --cgroup "$2/boot.sh" "$2"' \
		start "$SD_CGROUP" "$SD" > "$SD/systemd.out" 2>&1 &
	SD_UNSHARE_PID=$!
	SD_PID=
	for _ in $(seq 100); do
		SD_PID=$(tr -d ' ' 2>/dev/null < "/proc/$SD_UNSHARE_PID/task/$SD_UNSHARE_PID/children")
		[ -n "$SD_PID" ] && in_ns systemctl is-system-running 2>/dev/null | grep -qE '^(running|degraded)$' && break
		sleep 0.2
	done
	in_ns systemctl is-system-running 2>/dev/null | grep -qE '^(running|degraded)$' ||
		fail "systemd did not come up in 20 s: $(cat "$SD/systemd.out")"
	for _ in $(seq 50); do
		in_ns ksub -L -q -m 1s -b 127.0.0.1:9092 >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	fail "kbroker-test.service did not serve 127.0.0.1:9092: $(in_ns journalctl --no-pager -u kbroker-test)"
}

# in_ns COMMAND...: run COMMAND in the test systemd's namespaces.
in_ns() {
	nsenter -t "$SD_PID" -m -u -i -n -p -C "$@"
}

# stop_systemd: SIGKILL the test's systemd, which ends every process of
# its PID namespace, then remove its cgroups.
stop_systemd() {
	local _
	[ -n "${SD_UNSHARE_PID:-}" ] || return 0
	[ -n "${SD_PID:-}" ] && kill -KILL "$SD_PID" 2>/dev/null
	kill -KILL "$SD_UNSHARE_PID" 2>/dev/null
	wait "$SD_UNSHARE_PID" 2>/dev/null
	for _ in $(seq 50); do
		find "$SD_CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$SD_CGROUP" ] || break
		sleep 0.1
	done
	SD_UNSHARE_PID=
}

# unit_pid UNIT PROG: the PID (in the test's PID namespace) of PROG in
# UNIT's pipeline, a child of the unit's bash.
unit_pid() {
	local main p
	main=$(in_ns systemctl show -p MainPID --value "$1")
	for p in $(in_ns cat "/proc/$main/task/$main/children"); do
		if [ "$(in_ns cat "/proc/$p/comm")" = "$2" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# aggregates_count: the transactions counted by the last aggregates.
aggregates_count() {
	in_ns ksub -q -b 127.0.0.1:9092 -t transaction_aggregates -e |
		last_totals | awk '{ n += $3 } END { print n + 0 }'
}

counted_some() {
	[ "$(aggregates_count)" -gt 0 ]
}

counted_all() {
	[ "$(aggregates_count)" -eq "$total" ]
}

unit_restarted() {
	[ "$(in_ns systemctl show -p NRestarts --value "$1")" -ge 1 ] &&
		[ "$(in_ns systemctl show -p ActiveState --value "$1")" = active ]
}

@test "systemd: under systemd, producer, repartition and two aggregators total each merchant exactly, through a kill -9" {
	[ "$(id -u)" -eq 0 ] || skip "needs root, to run systemd in namespaces of its own"
	for t in unshare nsenter pivot_root findmnt; do
		command -v "$t" >/dev/null || fail "$t is missing: install Debian's util-linux"
	done
	[ -x /lib/systemd/systemd ] || fail "/lib/systemd/systemd is missing: install Debian's systemd package"
	start_systemd
	# The example files, as an operator would fill them in.
	{
		sed 's/^KAFKA_BROKERS=.*/KAFKA_BROKERS=127.0.0.1:9092/' "$UNITS/txstream.env.example"
		echo LOG_FORMAT=json
		echo TXSTREAM_RATE=400
	} > txstream.env
	for n in 1 2; do
		{
			sed "s/^PARTITIONS=.*/PARTITIONS=$([ "$n" = 1 ] && echo 0-2 || echo 3-4)/" "$UNITS/aggregator.env.example"
			echo TXSTREAM_INPUT_TOPIC=transactions_by_merchant
			echo 'JAGG_ARGS=-v --checkpoint-interval 0.2s'
		} > "aggregator-$n.env"
	done
	in_ns sh -c 'cat > /etc/txstream/txstream.env' < txstream.env
	in_ns sh -c 'cat > /etc/txstream/aggregator-1.env' < aggregator-1.env
	in_ns sh -c 'cat > /etc/txstream/aggregator-2.env' < aggregator-2.env
	units=(txstream-aggregator@1 txstream-aggregator@2 txstream-repartition txstream-producer)
	run -0 in_ns systemctl start "${units[@]}"
	wait_until 20 counted_some || fail "no aggregates in 20 s: $(in_ns journalctl --no-pager -o cat -u 'txstream-*')"

	# kill -9 one jagg: ksub and kpub end behind it, pipefail fails the
	# unit, and systemd starts it again from its checkpoint.
	pid=$(unit_pid txstream-aggregator@1 jagg) || fail "no jagg in txstream-aggregator@1"
	in_ns kill -KILL "$pid"
	wait_until 20 unit_restarted txstream-aggregator@1 ||
		fail "txstream-aggregator@1 was not restarted: $(in_ns systemctl status --no-pager txstream-aggregator@1)"
	# One more second of transactions, for the restarted jagg to count
	# too: a duration, not a synchronisation (counted_all waits below).
	sleep 1
	run -0 in_ns systemctl stop txstream-producer
	in_ns ksub -q -b 127.0.0.1:9092 -t financial_transactions -e > tx.ndjson
	total=$(wc -l < tx.ndjson)
	[ "$total" -gt 500 ] || fail "only $total transactions were produced"
	wait_until 60 counted_all || fail "the aggregates count $(aggregates_count) of $total transactions"
	run -0 in_ns systemctl stop txstream-repartition txstream-aggregator@1 txstream-aggregator@2

	in_ns ksub -q -b 127.0.0.1:9092 -t transaction_aggregates -e > aggregates.ndjson
	assert_equal "$(last_totals < aggregates.ndjson)" "$(totals tx.ndjson)"
	# Each merchant belongs to one aggregator: their states do not overlap.
	for n in 1 2; do
		in_ns cat "/var/lib/txstream/aggregator-$n/checkpoint.json" |
			$PY -c 'import json, sys; [print(g["key"][0]) for g in json.load(sys.stdin)["jagg"]["groups"]]' > "groups-$n"
	done
	assert_equal "$(sort groups-1 groups-2 | uniq -d)" ''
	assert_equal "$(sort -u groups-1 groups-2 | wc -l)" 3
	# Every unit stopped cleanly: a drained pipeline exits 0.
	for u in "${units[@]}"; do
		assert_equal "$u $(in_ns systemctl show -p Result --value "$u")" "$u success"
		assert_equal "$u $(in_ns systemctl show -p ActiveState --value "$u")" "$u inactive"
	done
	# LOG_FORMAT=json: jagg -v's lines reach the journal as JSON objects.
	in_ns journalctl --no-pager -o cat -u txstream-aggregator@2 > journal
	run grep -c '^{.*"prog":"jagg"' journal
	assert_success
	grep '^{' journal | $PY -c 'import json, sys; [json.loads(l) for l in sys.stdin]'
}

# --- Bash completion -------------------------------------------------------

# completions LINE: what the completion offers when <TAB> is pressed at
# the end of LINE, one candidate a line. The words are split as readline
# splits them, at blanks and at the characters of COMP_WORDBREAKS.
# With NO_BASH_COMPLETION=1, bash-completion is not loaded first.
completions() {
	[ -n "${NO_BASH_COMPLETION:-}" ] || [ -f "$BASH_COMPLETION" ] ||
		fail "$BASH_COMPLETION is missing: install Debian's bash-completion package"
	# shellcheck disable=SC2016
	bash --norc --noprofile -c '
		[ -n "${NO_BASH_COMPLETION:-}" ] || source "$1"
		source "$2" || exit 1
		line=$3 w="" inbreak=0
		breaks=${COMP_WORDBREAKS//[[:space:]]/}
		COMP_WORDS=()
		for ((i = 0; i < ${#line}; i++)); do
			c=${line:i:1}
			if [[ $c == " " ]]; then
				[[ -n $w ]] && COMP_WORDS+=("$w")
				w="" inbreak=0
			elif [[ $breaks == *"$c"* ]]; then
				if ((inbreak)); then
					w+=$c
				else
					[[ -n $w ]] && COMP_WORDS+=("$w")
					w=$c inbreak=1
				fi
			else
				if ((inbreak)); then
					COMP_WORDS+=("$w")
					w="" inbreak=0
				fi
				w+=$c
			fi
		done
		COMP_WORDS+=("$w")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$line
		COMP_POINT=${#line}
		_txstream_complete || exit 1
		((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"
	' completions "$BASH_COMPLETION" "$COMPLETION" "$1"
}

# help_options PROG [--long]: PROG's options by its --help, read here
# with regular expressions: the usage synopsis (up to the first empty
# line), and the first column of each indented line that starts with a
# dash; sorted, one a line.
help_options() {
	local text
	text=$("$1" --help) || return 1
	$PY -c '
import re, sys
text = sys.stdin.read()
synopsis, _, rest = text.partition("\n\n")
opts = set()
for tok in re.findall(r"(?<![\w-])(--[A-Za-z0-9][-A-Za-z0-9]*(?:=[A-Za-z0-9]+)?|-[A-Za-z0-9]+)", synopsis):
    opts.update([tok] if tok.startswith("--") else ["-" + c for c in tok[1:]])
for line in rest.splitlines():
    m = re.match(r"\s+(-\S.*?)(?:\s{2,}|$)", line)
    if m:
        opts.update(re.findall(r"--?[A-Za-z0-9][-A-Za-z0-9]*(?:=[A-Za-z0-9]+)?", m.group(1)))
for o in sorted(opts):
    if len(sys.argv) < 2 or o.startswith("--"):
        print(o)
' ${2:+"$2"} <<< "$text"
}

@test "completion: the file is shellcheck clean" {
	run shellcheck -s bash "$COMPLETION"
	assert_success
	assert_output ''
}

@test "completion: jagg --mo<TAB> gives --mode, and --mode <TAB> its three modes" {
	run -0 completions 'jagg --mo'
	assert_output '--mode'
	run -0 completions 'jagg --mode '
	assert_equal "$(sort <<< "$output")" "$(printf '%s\n' complete final update)"
	run -0 completions 'jagg --mode=c'
	assert_output 'complete'
	run -0 completions 'jagg --time-unit '
	assert_equal "$(sort <<< "$output")" "$(printf '%s\n' ms s)"
}

@test "completion: kpub --err<TAB> gives --errors, and a file after it" {
	run -0 completions 'kpub --err'
	assert_output '--errors'
	touch state.json
	run -0 completions 'kpub --errors st'
	assert_output 'state.json'
	run -0 completions 'kpub --errors=st'
	assert_output 'state.json'
}

@test "completion: the options that name files complete file names" {
	touch state.json
	for line in 'jagg --checkpoint ' 'jagg --errors ' 'ksub -F ' 'kpub --config ' \
		'kbroker --bootstrap-file ' 'kbroker --control ' 'jfmt --errors '; do
		run -0 completions "${line}st"
		assert_equal "$line: $output" "$line: state.json"
	done
}

@test "completion: ksub -o offers beginning, end, stored, and files after @" {
	touch state.json
	mkdir saved
	run -0 completions 'ksub --envelope -o '
	assert_line beginning
	assert_line end
	assert_line stored
	# bash-completion takes @ out of COMP_WORDBREAKS: the @ stays in the
	# word; a directory gets its slash here.
	run -0 completions 'ksub -o @st'
	assert_output '@state.json'
	run -0 completions 'ksub -o @sa'
	assert_output '@saved/'
	run -0 completions 'ksub --offset=@st'
	assert_output '@state.json'
}

@test "completion: jagg's operands are aggregates: count, FUNC: and NAME=FUNC:" {
	run -0 completions 'jagg -g merchantId '
	for a in count count: sum: min: max: avg: first: last: count_distinct:; do
		assert_line "$a"
	done
	# "=" and ":" break words for readline: it is handed the rest.
	run -0 completions 'jagg totalAmount=su'
	assert_output 'sum:'
	run -0 completions 'jagg n=count_'
	assert_output 'count_distinct:'
	run -0 completions 'jagg sum:amo'
	assert_output ''
}

@test "completion: every program's --log-format offers text and json" {
	for p in "${PROGRAMS[@]}"; do
		run -0 completions "$p --log-format "
		assert_equal "$p: $(sort <<< "$output" | tr '\n' ' ')" "$p: json text "
	done
}

@test "completion: ksub --on-gap, kpub -z and -X complete their values" {
	run -0 completions 'ksub --on-gap '
	assert_equal "$(sort <<< "$output")" "$(printf '%s\n' fail skip)"
	run -0 completions 'kpub -z '
	assert_equal "$(sort <<< "$output")" "$(printf '%s\n' gzip lz4 none snappy zstd)"
	run -0 completions 'kpub -X security.p'
	assert_output 'security.protocol='
	run -0 completions 'kpub -X security.protocol=sasl_s'
	assert_output 'sasl_ssl'
}

@test "completion: PROG -<TAB> offers exactly the options of PROG --help, for every program" {
	for p in "${PROGRAMS[@]}"; do
		command -v "$p" >/dev/null || fail "$p is not on PATH"
		expected=$(help_options "$p") || fail "$p --help failed: the completion has nothing to read"
		[ -n "$expected" ] || fail "$p --help lists no option"
		run -0 completions "$p -"
		assert_equal "$p: $(sort <<< "$output")" "$p: $expected"
		run -0 completions "$p --"
		assert_equal "$p: $(sort <<< "$output")" "$p: $(help_options "$p" --long)"
	done
}

@test "completion: options are read from --help when completing, again when the program changes" {
	mkdir bin
	# shellcheck disable=SC2016
	printf '#!/bin/sh\ncat "$0.help"\n' > bin/jagg
	chmod +x bin/jagg
	printf 'usage: jagg [--brand-new] [--shade a|b]\n\n      --brand-new   new\n' > bin/jagg.help
	PATH=$PWD/bin:$PATH run -0 completions 'jagg --bra'
	assert_output '--brand-new'
	PATH=$PWD/bin:$PATH run -0 completions 'jagg --shade '
	assert_equal "$(sort <<< "$output")" "$(printf '%s\n' a b)"
	# In one shell: cached, then read again once the program is newer.
	# shellcheck disable=SC2016
	run -0 env PATH="$PWD/bin:$PATH" bash --norc --noprofile -c '
		source "$1"
		COMP_WORDS=(jagg --) COMP_CWORD=1 COMP_LINE="jagg --" COMP_POINT=7
		_txstream_complete
		echo "${COMPREPLY[*]}"
		printf "usage: jagg [--later]\n" > bin/jagg.help
		_txstream_complete
		echo "${COMPREPLY[*]}"
		touch -d "+1 min" bin/jagg
		_txstream_complete
		echo "${COMPREPLY[*]}"
	' completions "$COMPLETION"
	assert_equal "$output" "$(printf '%s\n' '--brand-new --shade' '--brand-new --shade' '--later')"
}

@test "completion: a program whose --help fails or is not ours offers nothing, and no error" {
	mkdir bin
	printf '#!/bin/sh\necho "jfmt: not written yet" >&2\nexit 70\n' > bin/jfmt
	chmod +x bin/jfmt
	PATH=$PWD/bin:$PATH run -0 --separate-stderr completions 'jfmt --'
	assert_output ''
	# shellcheck disable=SC2154
	assert_equal "$stderr" ''
}

@test "completion: -t completes the cluster's topics when brokers are known" {
	start_broker -T financial_transactions:5 -T transaction_aggregates:3
	run -0 completions "kpub -b $BROKERS -t "
	assert_equal "$(sort <<< "$output")" "$(printf '%s\n' financial_transactions transaction_aggregates)"
	run -0 completions "ksub --brokers=$BROKERS -t fin"
	assert_output 'financial_transactions'
	KAFKA_BROKERS=$BROKERS run -0 completions 'ksub --envelope tr'
	assert_output 'transaction_aggregates'
	# No brokers known: no topics, and no cluster asked. A ksub first on
	# PATH notes each listing asked of it (-L) and runs the real one (with
	# brokers known, it is asked: the note works).
	mkdir shim
	printf '#!/bin/sh\ncase " $* " in *" -L "*) echo "$*" >> %s/asked ;; esac\nexec %s "$@"\n' \
		"$PWD" "$(command -v ksub)" > shim/ksub
	chmod +x shim/ksub
	PATH=$PWD/shim:$PATH KAFKA_BROKERS='' run -0 completions 'ksub -t '
	assert_output ''
	assert [ ! -e asked ]
	PATH=$PWD/shim:$PATH KAFKA_BROKERS=127.0.0.1:1 run -0 completions 'ksub -t '
	assert [ -s asked ]
}

@test "completion: sourced without bash-completion, it still splits --opt=value and @FILE" {
	touch state.json
	NO_BASH_COMPLETION=1 run -0 completions 'jagg --mode=c'
	assert_output 'complete'
	# Here @ breaks words, so readline is handed what follows it.
	NO_BASH_COMPLETION=1 run -0 completions 'ksub -o @st'
	assert_output 'state.json'
	NO_BASH_COMPLETION=1 run -0 completions 'jagg total=su'
	assert_output 'sum:'
}

# start_tmux: an interactive bash in a tmux server of this test's own,
# with bash-completion and the completion loaded; TMUX_PID is its server.
start_tmux() {
	command -v tmux >/dev/null || fail "tmux is missing: install Debian's tmux package"
	TMUX_SOCKET=$BATS_TEST_TMPDIR/tmux.sock
	cat > rc.bash <<-EOF
	PS1='$ '
	source "$BASH_COMPLETION"
	source "$COMPLETION"
	EOF
	tmux -S "$TMUX_SOCKET" -f /dev/null new-session -d -x 150 -y 20 \
		"env PATH='$PATH' bash --noprofile --rcfile '$PWD/rc.bash' -i"
	TMUX_PID=$(tmux -S "$TMUX_SOCKET" display -p '#{pid}')
}

stop_tmux() {
	[ -n "${TMUX_PID:-}" ] || return 0
	kill "$TMUX_PID" 2>/dev/null
	TMUX_PID=
}

# screen_shows TEXT: the screen's last non-empty line is "$ TEXT" within
# 5 s (tmux drops the blanks at the end of a line).
screen_shows() {
	local _ last want="\$ $1"
	want=${want%"${want##*[! ]}"}
	for _ in $(seq 50); do
		last=$(tmux -S "$TMUX_SOCKET" capture-pane -p | grep -v '^$' | tail -n 1)
		[ "$last" = "$want" ] && return 0
		sleep 0.1
	done
	fail "the screen shows '$last', not '$want'"
}

@test "completion: in an interactive bash, <TAB> completes in place, a space only after a whole word" {
	mkdir saved
	start_tmux
	screen_shows ''
	tmux -S "$TMUX_SOCKET" send-keys 'jagg --mo' Tab
	screen_shows 'jagg --mode'
	tmux -S "$TMUX_SOCKET" send-keys 'fi' Tab
	screen_shows 'jagg --mode final'
	tmux -S "$TMUX_SOCKET" send-keys 'total=su' Tab
	screen_shows 'jagg --mode final total=sum:'
	tmux -S "$TMUX_SOCKET" send-keys 'amount'
	screen_shows 'jagg --mode final total=sum:amount'
	tmux -S "$TMUX_SOCKET" send-keys C-u 'ksub -o @sa' Tab
	screen_shows 'ksub -o @saved/'
	tmux -S "$TMUX_SOCKET" send-keys 'x'
	screen_shows 'ksub -o @saved/x'
}
