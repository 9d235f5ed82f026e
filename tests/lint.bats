#!/usr/bin/env bats
# Static checks that must stay clean: man pages and shell scripts.

load helpers

@test "lint: every man page is mandoc -Tlint clean" {
	cd "$TXS_SRCDIR"
	pages=(man/*.[1-9])
	[ "${#pages[@]}" -ge 2 ]
	run mandoc -Tlint -W warning "${pages[@]}"
	assert_success
	assert_output ''
}

@test "lint: every shell script is shellcheck clean" {
	cd "$TXS_SRCDIR"
	mapfile -t scripts < <(grep -rlE '^#!.*(/|env )(ba)?sh' scripts bench .ci tests/*.bash 2>/dev/null)
	[ "${#scripts[@]}" -ge 2 ]
	run shellcheck -x "${scripts[@]}"
	assert_success
	# Bats files are bash too; shellcheck reads them with the bats dialect.
	run shellcheck -x --shell=bats tests/*.bats
	assert_success
}
