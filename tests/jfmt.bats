#!/usr/bin/env bats
# jfmt: every format on awkward strings and numbers, checked against
# fixtures written by hand or against tools that share nothing with jfmt
# (Python's csv and json modules, jq); bad lines per txstream(7), Record streams; and the
# live view, driven in tmux and on a pseudo-terminal.

# $stderr is set by bats' run --separate-stderr; FEED_FD and JFMT_PID are
# set in a test for its teardown, which runs in the same subshell.
# shellcheck disable=SC2154,SC2030,SC2031

load helpers

setup() {
	cd "$BATS_TEST_TMPDIR" || return
	TMUX_SOCKET=$BATS_TEST_TMPDIR/tmux.sock
}

teardown() {
	# The test's own tmux server, by its socket, and the pane's jfmt with it.
	[ -S "$TMUX_SOCKET" ] && tmux -S "$TMUX_SOCKET" kill-server 2>/dev/null
	if [ -n "${FEED_FD:-}" ]; then
		exec {FEED_FD}>&-
		FEED_FD=
	fi
	if [ -n "${JFMT_PID:-}" ]; then
		kill "$JFMT_PID" 2>/dev/null || true
		wait "$JFMT_PID" 2>/dev/null || true
	fi
	true
}

# sp N: N spaces, for expected table rows.
sp() {
	printf '%*s' "$1" ''
}

# Records whose strings and numbers trip formatters up: quotes,
# backslashes, commas, tabs, newlines, CR, non-ASCII (two- to four-byte
# UTF-8, wide characters), control characters, NUL, DEL; numbers a double
# would change; an empty string, null, a missing field, nested values.
awkward() {
	cat <<'EOF'
{"s":"plain","n":2.50}
{"s":"quote \" and \\ backslash","n":-0}
{"s":"comma, and \"both\"","n":1e400}
{"s":"tab\there","n":123456789012345678901234567890}
{"s":"line\nbreak and cr\r!","n":1E-7}
{"s":"caf\u00e9 \u20ac \ud83d\ude00 日本","n":0}
{"s":"ctl \u0001 esc \u001b[31m nul \u0000 del \u007f","n":-12.5e+3}
{"s":"","n":null}
{"n":7}
{"s":"nested","n":true,"o":{"a":[1,"x",{}],"b":null}}
EOF
}

# Random strings of awkward characters, as JSON escapes or raw UTF-8,
# with numbers as text: a wider net than the fixture.
random_records() {
	$PY -c '
import json, random, sys
r = random.Random(11)
pool = list("ab ,;\"\\\t\n\r\x00\x01\x1b\x7f\x85\u00e9\u20ac\u2028\u202e\u65e5\U0001F600") + ["\\"]
nums = ["0", "-0", "2.50", "1e400", "1E-7", "-12.5e+3", "123456789012345678901234567890"]
for i in range(300):
    s = "".join(r.choice(pool) for _ in range(r.randint(0, 12)))
    obj = "{\"s\":%s,\"n\":%s,\"t\":%s}" % (json.dumps(s, ensure_ascii=r.random() < 0.5),
        r.choice(nums), json.dumps(r.choice(["x", "", "a,b", "q\"q"])))
    sys.stdout.buffer.write((obj + "\n").encode())
'
}

# on_tty ROWS COLS CMD...: run CMD with stdout and stderr on a new
# pseudo-terminal of that size (stdin stays ours); print what it wrote,
# with the terminal's CR before each LF removed; exit with CMD's status.
on_tty() {
	$PY -c '
import fcntl, os, pty, struct, subprocess, sys, termios
m, s = pty.openpty()
fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack("HHHH", int(sys.argv[1]), int(sys.argv[2]), 0, 0))
p = subprocess.Popen(sys.argv[3:], stdout=s, stderr=s)
os.close(s)
out = b""
while True:
    try:
        d = os.read(m, 65536)
    except OSError:
        break
    if not d:
        break
    out += d
p.wait()
sys.stdout.buffer.write(out.replace(b"\r\n", b"\n"))
sys.exit(p.returncode)
' "$@"
}

tm() {
	tmux -S "$TMUX_SOCKET" "$@"
}

# wait_pane REGEX: until the tmux pane shows a line matching REGEX (5 s at most).
wait_pane() {
	local _
	for _ in $(seq 50); do
		tm capture-pane -p -t t | grep -qE -- "$1" && return 0
		sleep 0.1
	done
	echo "the pane never showed /$1/; it shows:" >&2
	tm capture-pane -p -t t >&2
	return 1
}

# start_live ROWS COLS ARGS...: jfmt --live ARGS in a detached tmux
# session "t" of that size, reading the FIFO feed (written through
# $FEED_FD); its exit status goes to the file rc, its stderr to err. The
# pane then stays open (teardown ends it), to show what jfmt left.
start_live() {
	local rows=$1 cols=$2
	shift 2
	mkfifo feed
	tm new-session -d -s t -x "$cols" -y "$rows" -c "$BATS_TEST_TMPDIR" \
		"$(command -v jfmt) --live $* < feed 2> err; echo \$? > rc; exec sleep 60"
	exec {FEED_FD}> feed
}

@test "jfmt: --compact and --pretty re-indent without touching a token" {
	printf '%s\n' '{ "a" : [ 1 , 2.50 , -0 ] , "b" : { } , "c" : [ ] , "d" : "x \" y\u00e9" , "e" : 1E-7 }' > in
	run -0 jfmt --compact in
	assert_output '{"a":[1,2.50,-0],"b":{},"c":[],"d":"x \" y\u00e9","e":1E-7}'
	run -0 jfmt in
	assert_output "$(cat <<'EOF'
{
  "a": [
    1,
    2.50,
    -0
  ],
  "b": {},
  "c": [],
  "d": "x \" y\u00e9",
  "e": 1E-7
}
EOF
)"
	run -0 jfmt --pretty --indent 4 -f a,e in
	assert_output "$(printf '{\n    "a": [\n        1,\n        2.50,\n        -0\n    ],\n    "e": 1E-7\n}')"
	# Not only objects: any JSON text is a record.
	run -0 jfmt --compact <<< ' [ "x" , null ] '
	assert_output '["x",null]'
}

@test "jfmt: --pretty and --compact are the same JSON as jq reads, with every number's text kept" {
	awkward > in
	random_records >> in
	run -0 jfmt --compact in
	assert_equal "$(jq -c . <<< "$output")" "$(jq -c . in)"
	# Compact is the input itself here: it has no whitespace between tokens.
	assert_equal "$output" "$(cat in)"
	run -0 jfmt --pretty in
	assert_equal "$(jq -c . <<< "$output")" "$(jq -c . in)"
	for n in 2.50 -0 1e400 123456789012345678901234567890 1E-7 -12.5e+3; do
		grep -qxF "  \"n\": $n," <<< "$output"
	done
	# jq itself would have changed them: that is what is being tested.
	[ "$(jq -c .n <<< '{"n":1e400}')" != 1e400 ]
}

@test "jfmt: --color=always colors keys and values; auto colors a terminal unless NO_COLOR is set" {
	printf '%s\n' '{"k":"v","n":1.50,"t":true,"z":null}' > in
	run -0 jfmt --compact --color=always in
	e=$'\033'
	assert_output "{${e}[1;34m\"k\"${e}[0m:${e}[32m\"v\"${e}[0m,${e}[1;34m\"n\"${e}[0m:${e}[36m1.50${e}[0m,${e}[1;34m\"t\"${e}[0m:${e}[33mtrue${e}[0m,${e}[1;34m\"z\"${e}[0m:${e}[90mnull${e}[0m}"
	run -0 jfmt --compact in
	assert_output '{"k":"v","n":1.50,"t":true,"z":null}'
	run -0 on_tty 24 80 env -u NO_COLOR jfmt --compact in
	[[ "$output" == *"${e}[36m1.50${e}[0m"* ]]
	run -0 on_tty 24 80 env NO_COLOR= jfmt --compact in
	[[ "$output" == *"${e}[36m1.50${e}[0m"* ]]
	run -0 on_tty 24 80 env NO_COLOR=1 jfmt --compact in
	assert_output '{"k":"v","n":1.50,"t":true,"z":null}'
	run -0 on_tty 24 80 env NO_COLOR=1 jfmt --compact --color always in
	[[ "$output" == *"${e}[36m1.50${e}[0m"* ]]
}

@test "jfmt: --csv quotes by RFC 4180, by hand" {
	awkward > in
	run -0 jfmt --csv -f s,n,o in
	printf '%b' 's,n,o\n' 'plain,2.50,\n' '"quote "" and \\ backslash",-0,\n' '"comma, and ""both""",1e400,\n' \
		'tab\there,123456789012345678901234567890,\n' '"line\nbreak and cr\r!",1E-7,\n' \
		'caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac,0,\n' \
		'ctl \x01 esc \x1b[31m nul \x00 del \x7f,-12.5e+3,\n' ',,\n' ',7,\n' \
		'nested,true,"{""a"":[1,""x"",{}],""b"":null}"\n' > want
	jfmt --csv -f s,n,o in > got
	cmp want got
	# A lone empty cell is "", so that the row is not an empty line; --no-header drops the header.
	run -0 jfmt --csv --no-header -f s <<< '{"s":""}'
	assert_output '""'
}

@test "jfmt: --csv and --tsv round-trip awkward strings through Python's csv module and a TSV decoder" {
	awkward > in
	random_records >> in
	jfmt --csv -f s,n,t in > out.csv
	jfmt --tsv -f s,n,t in > out.tsv
	$PY -c '
import csv, json, re, sys
want = []
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line, parse_float=str, parse_int=str)
    cell = lambda v: "" if v is None else "true" if v is True else "false" if v is False else v
    want.append([cell(r.get(f)) for f in ("s", "n", "t")])
rows = list(csv.reader(open(sys.argv[2], newline="", encoding="utf-8")))
assert rows[0] == ["s", "n", "t"], rows[0]
assert rows[1:] == want, next((a, b) for a, b in zip(rows[1:], want) if a != b)
unescape = lambda c: re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}[m.group(1)], c)
lines = open(sys.argv[3], "rb").read().decode("utf-8").split("\n")
assert lines[-1] == "" and lines[0] == "s\tn\tt"
tsv = [[unescape(c) for c in l.split("\t")] for l in lines[1:-1]]
assert tsv == want, next((a, b) for a, b in zip(tsv, want) if a != b)
print(len(want), "records")
' in out.csv out.tsv
	# The TSV's only raw control characters are the ones it does not escape.
	run -0 jfmt --tsv -f s <<< '{"s":"a\tb\nc\rd\\e"}'
	assert_output "$(printf '%s\n' s 'a\tb\nc\rd\\e')"
}

@test "jfmt: --table aligns by display width, right-aligns numbers, shows - and escapes control characters" {
	cat > in <<'EOF'
{"name":"a","amount":2.50,"note":"x"}
{"name":"日本","amount":-0,"note":"tab\there"}
{"name":"café","amount":123456789012345678901234567890,"note":null}
{"name":"esc\u001b[31m","amount":1e400}
{"name":"","note":"😀"}
EOF
	run -0 jfmt --table in
	assert_output "$(printf '%s\n' \
		"name$(sp 9)  $(sp 24)amount  note" \
		"a$(sp 12)  $(sp 26)2.50  x" \
		"日本$(sp 9)  $(sp 28)-0  tab\\there" \
		"café$(sp 9)  123456789012345678901234567890  -" \
		"esc\\u001b[31m  $(sp 25)1e400  -" \
		"-$(sp 12)  $(sp 29)-  😀")"
	# No control character reaches the terminal.
	jfmt --table in > out
	run -1 grep -c $'\033' out
}

@test "jfmt: --table cuts cells wider than --widths with an ellipsis; other columns keep their sampled width" {
	printf '%s\n' '{"a":"abcdef","b":123456,"c":"xy"}' '{"a":"日本語","b":7,"c":"z"}' > in
	run -0 jfmt --table --widths 4,3 in
	assert_output "$(printf '%s\n' "a$(sp 7)b  c" "abc…  12…  xy" "日…$(sp 5)7  z")"
}

@test "jfmt: --table streams: rows come before the input ends, widths fixed by the first records" {
	mkfifo in
	jfmt --table --sample 2 < in > out &
	JFMT_PID=$!
	exec {FEED_FD}> in
	echo '{"k":"ab","v":10}' >&"$FEED_FD"
	# One record and a pause: the sample ends there, and the row is out.
	for _ in $(seq 30); do [ -s out ] && break; sleep 0.1; done
	assert_equal "$(cat out)" "$(printf 'k    v\nab  10')"
	echo '{"k":"abc","v":22}' >&"$FEED_FD"
	rows() {
		[ "$(wc -l < out)" -ge "$1" ]
	}
	wait_until 5 rows 3
	assert_equal "$(tail -1 out)" "a…  22"
	exec {FEED_FD}>&-
	FEED_FD=
	wait "$JFMT_PID"
	JFMT_PID=
}

@test "jfmt: output is flushed when the input pauses, not held in a buffer" {
	mkfifo in
	jfmt --csv < in > out &
	JFMT_PID=$!
	exec {FEED_FD}> in
	echo '{"a":1}' >&"$FEED_FD"
	for _ in $(seq 30); do [ -s out ] && break; sleep 0.1; done
	assert_equal "$(cat out)" "$(printf 'a\n1')"
	exec {FEED_FD}>&-
	FEED_FD=
	wait "$JFMT_PID"
	JFMT_PID=
}

@test "jfmt: columns are the first record's keys; a later new key is left out with one warning; missing is empty" {
	printf '%s\n' '{"a":1,"b":"x"}' '{"b":"y","c":3,"d":4}' '{"a":2,"e":5}' > in
	run -0 --separate-stderr jfmt --csv in
	assert_output "$(printf 'a,b\n1,x\n,y\n2,')"
	assert_equal "$stderr" "jfmt: in:2: \"c\" is not a column (the columns are the first record's keys); it and any other new key are left out: name them with -f"
	# -f names dotted paths, in its order, across repeated options.
	printf '%s\n' '{"w":{"s":60,"e":120},"m":"x","n":{"a":{"b":[1, 2]}}}' > nested
	run -0 jfmt --csv -f m -f w.e,w.s,n.a.b,n.zz nested
	assert_output "$(printf 'm,w.e,w.s,n.a.b,n.zz\nx,120,60,"[1,2]",')"
}

@test "jfmt: bad lines are reported as FILE:LINE, dead-lettered verbatim, and decide the exit status" {
	printf '%s\r\n' '{"a":1}' >  in
	printf '%s\n' '' 'not json' '{"a":2} x' '[1]' '{"a":"\ud83d"}' '{"a":3}' >> in
	run -65 --separate-stderr jfmt --csv in
	# A lone surrogate escape names no character: a bad line (not U+FFFD).
	assert_output "$(printf 'a\n1\n3')"
	[[ "$stderr" == *"jfmt: in:3: not JSON: unexpected character at byte 1"* ]]
	[[ "$stderr" == *"jfmt: in:4: not JSON: trailing characters after the JSON text at byte 9"* ]]
	[[ "$stderr" == *"jfmt: in:5: not a JSON object but an array"* ]]
	[[ "$stderr" == *"jfmt: in:6: not JSON: lone surrogate \\u escape in a string at byte 7"* ]]
	[[ "$stderr" == *"jfmt: 4 bad lines left out (--errors FILE keeps them)"* ]]
	# Kept aside, they are accounted for: exit 0, and the dead letters are the lines as they came.
	run -0 --separate-stderr jfmt --csv --errors dead in
	assert_equal "$(cat dead)" "$(printf '%s\n' 'not json' '{"a":2} x' '[1]' '{"a":"\ud83d"}')"
	# From stdin, named so; --strict stops at the first.
	run -65 --separate-stderr jfmt --compact --strict < in
	assert_output '{"a":1}'
	assert_equal "${stderr%%$'\n'*}" "jfmt: stdin:3: not JSON: unexpected character at byte 1"
	# JSON log lines name the source and line.
	run -65 --separate-stderr jfmt --compact --strict --log-format json < in
	[ "$(jq -r '.source + ":" + (.line|tostring)' <<< "${stderr%%$'\n'*}")" = stdin:3 ]
}

@test "jfmt: a file that cannot be opened is reported, the others are read, and the exit status is 66" {
	printf '%s\n' '{"a":1}' > one
	printf '%s\n' '{"a":2}' > two
	run -66 --separate-stderr jfmt --compact one missing two
	assert_output "$(printf '{"a":1}\n{"a":2}')"
	assert_equal "$stderr" "jfmt: missing: No such file or directory"
}

@test "jfmt: a closed stdout ends it quietly with status 0" {
	$PY -c 'print("\n".join("{\"k\":%d,\"s\":\"%s\"}" % (i, "x" * 50) for i in range(300000)))' > big
	for f in --compact --table --csv; do
		run bash -c "jfmt $f big 2> err | head -1 > /dev/null; echo \${PIPESTATUS[0]}"
		assert_output 0
		assert_equal "$(cat err)" ''
	done
}

@test "jfmt: usage errors exit 64; --help and --version exit 0" {
	run -64 jfmt --no-such-option
	run -64 jfmt --widths 0
	run -64 jfmt --widths 3,,4
	run -64 jfmt -f a,,b
	run -64 jfmt --live ''
	run -64 jfmt --refresh 0
	run -64 jfmt --color sometimes
	run -64 jfmt --indent 9
	run -0 jfmt --help
	assert_line --index 0 --partial 'usage: jfmt'
	run -0 jfmt --version
	assert_output --regexp '^jfmt \(txstream\) '
}

@test "jfmt: --live in tmux shows the table of the latest record per key and updates it in place" {
	start_live 12 80 merchantId --refresh 0.1s
	wait_pane '^merchantId: 0 keys, 0 records'
	printf '%s\n' '{"merchantId":"merchant_2","totalAmount":10.50,"transactionCount":1}' \
		'{"merchantId":"merchant_1","totalAmount":2.50,"transactionCount":1}' \
		'{"merchantId":"merchant_10","totalAmount":7,"transactionCount":1}' >&"$FEED_FD"
	wait_pane '^merchantId: 3 keys, 3 records, [0-9]{2}:[0-9]{2}:[0-9]{2}$'
	run tm capture-pane -p -t t
	assert_line --index 1 "merchantId$(sp 3)totalAmount  transactionCount"
	assert_line --index 2 "merchant_1$(sp 10)2.50$(sp 17)1"
	assert_line --index 3 "merchant_2$(sp 9)10.50$(sp 17)1"
	assert_line --index 4 "merchant_10$(sp 12)7$(sp 17)1"
	# An update replaces its key's row, in place: no new row.
	echo '{"merchantId":"merchant_2","totalAmount":33336733947.52,"transactionCount":333575}' >&"$FEED_FD"
	wait_pane '^merchantId: 3 keys, 4 records'
	run tm capture-pane -p -t t
	assert_line --index 2 "merchant_1$(sp 13)2.50$(sp 17)1"
	assert_line --index 3 "merchant_2$(sp 3)33336733947.52$(sp 12)333575"
	assert_line --index 4 "merchant_10$(sp 15)7$(sp 17)1"
	assert_equal "$(tm display -p -t t '#{alternate_on}')" 1
	# The input ends: the terminal is back on its normal screen, with the last view on it.
	exec {FEED_FD}>&-
	FEED_FD=
	for _ in $(seq 50); do [ -s rc ] && break; sleep 0.1; done
	assert_equal "$(cat rc)" 0
	assert_equal "$(tm display -p -t t '#{alternate_on}')" 0
	run tm capture-pane -p -t t
	assert_line --index 0 --regexp '^merchantId: 3 keys, 4 records'
	assert_line --index 3 "merchant_2$(sp 3)33336733947.52$(sp 12)333575"
}

@test "jfmt: --live fits the terminal: rows that do not fit are counted, wide lines cut, a resize followed" {
	start_live 8 40 k --refresh 0.1s
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
		echo "{\"k\":\"user_$i\",\"v\":$i,\"note\":\"a note far too long for forty columns $i\"}"
	done >&"$FEED_FD"
	wait_pane '^k: 12 keys, 12 records'
	run tm capture-pane -p -t t
	assert_equal "${#lines[@]}" 8
	# 39 columns and an ellipsis: the 40th.
	assert_line --index 2 'user_1  1  a note far too long for fort…'
	assert_line --index 6 'user_5  5  a note far too long for fort…'
	assert_line --index 7 '… 7 more keys not shown'
	tm resize-window -t t -x 80 -y 20
	wait_pane '^user_12  12  a note far too long for forty columns 12$'
	run tm capture-pane -p -t t
	refute_line --partial 'more keys'
	assert_line --index 2 'user_1    1  a note far too long for forty columns 1'
}

@test "jfmt: --live restores the terminal on SIGINT" {
	start_live 10 60 k --refresh 0.1s
	echo '{"k":"a","v":1}' >&"$FEED_FD"
	wait_pane '^a +1$'
	assert_equal "$(tm display -p -t t '#{alternate_on}')" 1
	tm send-keys -t t C-c
	for _ in $(seq 50); do [ -s rc ] && break; sleep 0.1; done
	assert_equal "$(cat rc)" 0
	assert_equal "$(tm display -p -t t '#{alternate_on}')" 0
	run tm capture-pane -p -t t
	assert_line --index 1 'k  v'
	assert_line --index 2 'a  1'
}

@test "jfmt: --live redraws at most once per --refresh, and shows the last values" {
	start=$(now_ms)
	run -0 on_tty 20 80 env TERM=xterm jfmt --live k --refresh 0.5s < <(
		for i in $(seq 60); do echo "{\"k\":\"k$((i % 3))\",\"v\":$i}"; sleep 0.02; done)
	elapsed=$(($(now_ms) - start))
	draws=$(grep -o $'\033\\[H' <<< "$output" | wc -l)
	echo "$draws draws in $elapsed ms"
	# The first view, one per 0.5 s at most while records came, the last one.
	[ "$draws" -ge 3 ]
	[ "$draws" -le $((elapsed / 500 + 3)) ]
	# After the view, the last values on the normal screen.
	tail -5 <<< "$output" > last
	assert_equal "$(tail -3 last)" "$(printf 'k0  60\nk1  58\nk2  59')"
}

@test "jfmt: --live writes plain table rows, every record, when stdout is not a terminal" {
	printf '%s\n' '{"k":"a","v":1}' '{"k":"b","v":2}' '{"k":"a","v":3}' '{"v":4}' > in
	run -65 --separate-stderr jfmt --live k in
	assert_output "$(printf 'k  v\na  1\nb  2\na  3')"
	[[ "$stderr" == *"jfmt: in:4: no k field"* ]]
	run -0 on_tty 10 40 sh -c 'TERM=dumb jfmt --live k --errors dead in 2> err'
	assert_output "$(printf 'k  v\na  1\nb  2\na  3')"
	assert_equal "$(cat dead)" '{"v":4}'
}

@test "jfmt: the --errors file is created 0600 under umask 000, and never through a symbolic link" {
	umask 000
	run jfmt --errors dead.ndjson <<< 'not json'
	assert_equal "$(stat -c %a dead.ndjson)" 600
	assert_equal "$(cat dead.ndjson)" 'not json'
	ln -s elsewhere link.ndjson
	run --separate-stderr jfmt --errors link.ndjson <<< 'not json'
	assert_failure 73
	assert [ ! -e elsewhere ]
}

@test "jfmt: an --errors file that cannot be written stops it at that line, with status 74" {
	printf '%s\n' '{"a":1}' 'not json' '{"a":2}' > in
	run --separate-stderr jfmt --compact --errors /dev/full in
	assert_failure 74
	assert_output '{"a":1}'
	assert_equal "$(grep -c '^jfmt: --errors /dev/full: No space left on device; stopping$' <<< "$stderr")" 1
}

@test "jfmt: an escaped lone surrogate is a bad line, in every mode" {
	printf '%s\n' '{"m":"\ud800"}' '{"m":"\ufffd"}' '{"m":"x\udc00"}' > in
	for mode in --compact --pretty --table --csv --tsv; do
		rm -f dead.ndjson
		run --separate-stderr jfmt "$mode" --errors dead.ndjson < in
		assert_success
		assert_equal "$(cat dead.ndjson)" "$(sed -n '1p;3p' in)"
		assert_equal "$(grep -c 'lone surrogate' <<< "$stderr")" 2
	done
	run --separate-stderr jfmt --compact < in
	assert_output '{"m":"\ufffd"}'
}

@test "jfmt: the --table sample holds at most 64 MB of records, however long they are" {
	# 60 records of 3 MB: 180 MB if all were held back to size the columns.
	$PY -c '
import sys
for i in range(60):
    sys.stdout.write("{\"i\":%d,\"s\":\"%s\"}\n" % (i, "x" * 3000000))' > in
	# Under AddressSanitizer, freed memory waits in a quarantine: none here,
	# so that the peak is the program's (plus ASan's shadow, an eighth).
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:quarantine_size_mb=0:thread_local_quarantine_size_kb=0 \
		run --separate-stderr /usr/bin/time -f 'maxrss_kb %M' jfmt --table -f i --sample 100 < in
	assert_success
	assert_equal "$(grep -c '^ *[0-9]' <<< "$output")" 60
	rss=$(awk '$1 == "maxrss_kb" { print $2 }' <<< "$stderr")
	echo "peak RSS: $rss kB"
	assert [ "$rss" -lt $((120 * 1024)) ]
}

@test "jfmt: --pretty, --compact, --csv, --tsv and -f hold at most twice the longest line" {
	# Two lines of just over 16 MiB, a long string and a long array of
	# numbers: a reader buffer doubled for the first would fill with the
	# second, a copy of a value or of its output would be a second line.
	len=$(((16 << 20) + 100))
	$PY -c '
import sys
n = int(sys.argv[1])
s = "{\"a\":\"%s\"}" % ("x\\n\\u00e9\\\"," * ((n - 8) // 12))
s += " " * (n - len(s))
a = "{\"a\":[%s]}" % ",".join(["1234567"] * ((n - 8) // 8))
a += " " * (n - len(a))
assert len(s) == len(a) == n
print(s)
print(a)' "$len" > in
	echo '{"a":"x"}' > tiny
	# Under AddressSanitizer, freed memory waits in a quarantine: none here,
	# so that the peak is the program's (plus ASan's shadow, an eighth).
	export ASAN_OPTIONS=${ASAN_OPTIONS:-}:quarantine_size_mb=0:thread_local_quarantine_size_kb=0
	for mode in --pretty --compact --csv --tsv "--compact -f a" "--pretty -f a" "--csv -f a" "--tsv -f a"; do
		# shellcheck disable=SC2086
		/usr/bin/time -f %M -o rss.tiny jfmt $mode tiny > /dev/null
		# shellcheck disable=SC2086
		/usr/bin/time -f %M -o rss.long jfmt $mode in > /dev/null
		base=$(cat rss.tiny) rss=$(cat rss.long)
		echo "jfmt $mode: $rss kB peak RSS for lines of $len bytes ($base kB for a tiny one)"
		assert [ "$rss" -le $((base + 2 * len / 1024)) ]
	done
}
