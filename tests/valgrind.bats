#!/usr/bin/env bats
# Each program runs valgrind-clean: no invalid access, no leak, no
# uninitialised value decides anything.

load helpers

vg() {
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect "$@"
}

@test "valgrind: txgen is clean" {
	run vg txgen -s 1 -r 0 -n 20000 --start-time 1
	assert_success
	assert_equal "${#lines[@]}" 20000
	run vg txgen -r 1000 --duration 0.3
	assert_success
}
