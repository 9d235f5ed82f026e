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
