#!/usr/bin/env bats
# The Debian packages as a user gets them. scripts/deb builds them from
# the make dist tarball and lints them; then they are installed, with
# apt-get and their dependencies from Debian's mirror, into a fresh
# Debian bookworm root that debootstrap made, the installed programs run
# there from /usr/bin, and purging them leaves the root as it was. Last,
# autopkgtest runs debian/tests on another fresh root (chroot runner).
#
# Needs root (debootstrap, chroot, mount) and Debian's mirror. Not part
# of make check: scripts/check runs it (make check TESTS=tests/deb.bats).
# The debootstrap root is made once and kept in
# ${XDG_CACHE_HOME:-~/.cache}/txstream/, so a second run copies it.
# TXS_DEBIAN_MIRROR names another mirror than deb.debian.org.

load helpers

MIRROR=${TXS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/txstream
BASE=$CACHE/$SUITE-minbase
# What the tests use inside the roots, besides the packages under test:
# man, bash-completion and python3 (the totals' independent computation).
BASE_PACKAGES=man-db,bash-completion,python3
OUT=$TXS_BUILDDIR/deb
ROOT=$OUT/root

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "needs root: debootstrap, chroot and mount"
	mkdir -p "$OUT"
}

teardown_file() {
	remove_root "$ROOT"
	remove_root "$OUT/autopkgtest-root"
}

setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root: debootstrap, chroot and mount"
}

# unmount_root DIR, then remove_root DIR: never rm -rf through a mount.
unmount_root() {
	! mountpoint -q "$1/proc" || umount "$1/proc"
}
remove_root() {
	unmount_root "$1" && rm -rf --one-file-system "$1"
}

# The cached minimal bookworm root, made by debootstrap once; its apt
# lists are refreshed when a day old, so apt-get finds what the mirror has.
# Under a lock: another run may be making or copying it.
base_root() {
	mkdir -p "$CACHE"
	exec {base_lock}> "$BASE.lock"
	flock "$base_lock"
	# The stamp names what the root was made with: another list, another root.
	if [ "$(cat "$BASE/.txstream-base" 2>/dev/null)" != "$SUITE $MIRROR $BASE_PACKAGES" ]; then
		rm -rf --one-file-system "$BASE.tmp" "$BASE"
		debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$BASE.tmp" "$MIRROR" \
			> "$OUT/debootstrap.log" 2>&1 || { tail -20 "$OUT/debootstrap.log"; return 1; }
		echo "$SUITE $MIRROR $BASE_PACKAGES" > "$BASE.tmp/.txstream-base"
		mv "$BASE.tmp" "$BASE"
	fi
	if [ -z "$(find "$BASE/var/lib/apt/lists" -name '*_Packages' -mmin -1440 2>/dev/null)" ]; then
		chroot "$BASE" apt-get update -qq
	fi
}

# fresh_root DIR: a copy of the cached root at DIR, /proc mounted.
fresh_root() {
	base_root
	remove_root "$1"
	cp -a "$BASE" "$1"
	exec {base_lock}>&-
	mount -t proc proc "$1/proc"
}

# in_root CMD...: run CMD in the install test's root, as root's login.
in_root() {
	chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}

# Every path in the root but those apt, dpkg and the tests change for
# their own bookkeeping, sorted.
root_paths() {
	(cd "$ROOT" && find . -xdev \( -path ./proc -o -path ./tmp -o -path ./var/lib/dpkg \
		-o -path ./var/lib/apt -o -path ./var/cache -o -path ./var/log \) -prune -o -print) | sort
}

@test "deb: scripts/deb builds the packages from make dist and lintian reports no error or warning" {
	run "$TXS_SRCDIR/scripts/deb" "$OUT"
	assert_success
	refute_line --regexp '^[EW]: '
	assert [ -f "$OUT/src/txstream_0.1.0.orig.tar.gz" ]
	assert [ -f "$OUT/src/txstream_0.1.0-1.debian.tar.xz" ]
	# The upstream tarball carries no debian/: the source package adds it.
	run tar -tzf "$OUT/src/txstream_0.1.0.orig.tar.gz"
	refute_line --regexp '^txstream-0.1.0/debian/'
}

@test "deb: the packages install into a fresh bookworm root with Debian's dependencies" {
	fresh_root "$ROOT"
	root_paths > "$OUT/paths.before"
	cp "$OUT"/src/txstream_*.deb "$OUT"/src/txstream-services_*.deb "$ROOT/tmp/"
	run in_root sh -c 'apt-get install -y -q /tmp/txstream_*.deb /tmp/txstream-services_*.deb'
	assert_success
	# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
	run in_root dpkg-query -W -f '${Package} ${db:Status-Status}\n' txstream txstream-services
	assert_line 'txstream installed'
	assert_line 'txstream-services installed'
}

@test "deb: the installed programs from /usr/bin give exact totals on an installed kbroker" {
	cp "$TXS_SRCDIR/debian/tests/smoke" "$ROOT/tmp/smoke"
	mkdir -p "$ROOT/tmp/smoke.d"
	run in_root env AUTOPKGTEST_TMP=/tmp/smoke.d sh /tmp/smoke
	assert_success
	assert_output ''
	# Computed by Python's decimal module from what txgen wrote, and equal.
	assert_equal "$(wc -l < "$ROOT/tmp/smoke.d/want")" 3
	cmp "$ROOT/tmp/smoke.d/want" "$ROOT/tmp/smoke.d/got"
}

@test "deb: man txgen and the bash completion resolve in the installed root" {
	run in_root man -w txgen
	assert_output /usr/share/man/man1/txgen.1.gz
	run in_root sh -c 'MANWIDTH=80 man txgen 2>&1 | head -n 8'
	assert_output --partial 'txgen'
	assert_output --partial 'generate'
	# The loader answers 124, "loaded: try again", as it does for <TAB>.
	run in_root bash -c '. /usr/share/bash-completion/bash_completion; _completion_loader ksub; complete -p ksub'
	assert_output 'complete -F _txstream_complete ksub'
	assert [ -f "$ROOT/usr/share/doc/txstream/examples/txstream.crontab" ]
	# The units are installed, and none enabled.
	assert [ -f "$ROOT/lib/systemd/system/txstream-aggregator@.service" ]
	run find "$ROOT/etc/systemd" -name 'txstream-*'
	assert_output ''
}

@test "deb: purging the packages and their dependencies leaves the root as it was" {
	run in_root apt-get purge -y -q txstream txstream-services
	assert_success
	run in_root apt-get autoremove --purge -y -q
	assert_success
	rm -rf "$ROOT/tmp/"*
	root_paths > "$OUT/paths.after"
	run diff "$OUT/paths.before" "$OUT/paths.after"
	assert_success
	assert_output ''
}

@test "deb: autopkgtest runs debian/tests on a fresh bookworm root (chroot runner)" {
	fresh_root "$OUT/autopkgtest-root"
	rm -rf "$OUT/autopkgtest"
	# TMPDIR is the host's: the chroot runner makes its own under /tmp.
	TMPDIR=/tmp run autopkgtest --output-dir "$OUT/autopkgtest" \
		"$OUT"/src/txstream_*.changes -- chroot "$OUT/autopkgtest-root"
	assert_success
	assert_line --regexp '^smoke +PASS'
}
