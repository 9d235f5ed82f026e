#!/usr/bin/env bats
# Every program's --help and man page name the same long options.

load helpers

long_options() {
	grep -oE -- '--[a-z][a-z0-9-]+' | sort -u
}

check_program() {
	local prog=$1
	run "$prog" --help
	assert_success
	help_opts=$(long_options <<< "$output")
	# The options the page describes (EXAMPLES may show other programs').
	page_opts=$(mandoc -Tutf8 "$TXS_SRCDIR/man/$prog.1" | col -b |
		awk '/^[A-Z]/ { on = ($0 == "DESCRIPTION") } on' | long_options)
	[ -n "$help_opts" ]
	run diff <(echo "$help_opts") <(echo "$page_opts")
	assert_success
	# And each page has the sections a user looks for.
	for section in SYNOPSIS DESCRIPTION 'EXIT STATUS' EXAMPLES 'SEE ALSO'; do
		grep -q "^\.Sh $section" "$TXS_SRCDIR/man/$prog.1"
	done
}

@test "manpages: txgen --help and txgen(1) agree" {
	check_program txgen
}

@test "manpages: kpub --help and kpub(1) agree" {
	check_program kpub
}

@test "manpages: ksub --help and ksub(1) agree" {
	check_program ksub
}

@test "manpages: kbroker --help and kbroker(1) agree" {
	check_program kbroker
}

@test "manpages: jagg --help and jagg(1) agree" {
	check_program jagg
}

@test "manpages: jfmt --help and jfmt(1) agree" {
	check_program jfmt
}
