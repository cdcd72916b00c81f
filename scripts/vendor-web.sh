#!/usr/bin/env bash
# vendor-web.sh fetches the browser client's third-party files from the npm
# registry, copies the few that web/static needs (with their licences) into
# web/static/vendor/, and records what it took in web/vendor.lock.
#
#   scripts/vendor-web.sh           fetch the pinned versions and rewrite the lock
#   scripts/vendor-web.sh --verify  check the committed files against the lock
#                                   (no network, no Node)
#
# Node and npm are needed only to run it without --verify; building and
# running Parley never needs them, because the vendored files are committed.
# To upgrade a package, change its version below, run the script, look at the
# diff, and commit the files together with the lock.
set -euo pipefail

# Exact versions: "latest" or a range would make the build depend on the day.
PREACT_VERSION=10.29.8
HTM_VERSION=3.1.1
BOOTSTRAP_VERSION=5.3.9

# Each line: package version path-in-tarball destination (relative to web/).
FILES="
preact    $PREACT_VERSION    package/dist/preact.module.js        static/vendor/preact/preact.module.js
preact    $PREACT_VERSION    package/hooks/dist/hooks.module.js   static/vendor/preact/hooks.module.js
preact    $PREACT_VERSION    package/LICENSE                      static/vendor/preact/LICENSE
htm       $HTM_VERSION       package/dist/htm.module.js           static/vendor/htm/htm.module.js
htm       $HTM_VERSION       package/LICENSE                      static/vendor/htm/LICENSE
bootstrap $BOOTSTRAP_VERSION package/dist/css/bootstrap.min.css   static/vendor/bootstrap/bootstrap.min.css
bootstrap $BOOTSTRAP_VERSION package/LICENSE                      static/vendor/bootstrap/LICENSE
"

root=$(cd "$(dirname "$0")/.." && pwd)
web=$root/web
lock=$web/vendor.lock

die() {
	echo "vendor-web: $*" >&2
	exit 1
}

sha256_of() {
	sha256sum "$1" | cut -d' ' -f1
}

# verify checks every "file" line of the lock against the file on disk and
# that web/static/vendor holds no file the lock does not name.
verify() {
	[ -f "$lock" ] || die "missing $lock; run scripts/vendor-web.sh"
	local failed=0 listed path want got
	listed=$(mktemp)
	while read -r kind path want _; do
		[ "$kind" = file ] || continue
		want=${want#sha256:}
		echo "$path" >>"$listed"
		if [ ! -f "$web/$path" ]; then
			echo "MISSING  web/$path" >&2
			failed=1
			continue
		fi
		got=$(sha256_of "$web/$path")
		if [ "$got" != "$want" ]; then
			echo "MISMATCH web/$path: lock sha256:$want, file sha256:$got" >&2
			failed=1
		fi
	done <"$lock"
	if [ ! -s "$listed" ]; then
		rm -f "$listed"
		die "$lock lists no files"
	fi
	while IFS= read -r path; do
		path=${path#"$web/"}
		if ! grep -qxF "$path" "$listed"; then
			echo "UNLISTED web/$path" >&2
			failed=1
		fi
	done < <(find "$web/static/vendor" -type f | sort)
	local count
	count=$(wc -l <"$listed")
	rm -f "$listed"
	[ "$failed" = 0 ] || die "web/static/vendor does not match web/vendor.lock"
	echo "vendor-web: $count files match web/vendor.lock"
}

# locked_integrity prints the integrity the current lock records for a
# package version, if any.
locked_integrity() {
	[ -f "$lock" ] || return 0
	awk -v n="$1" -v v="$2" '$1 == "package" && $2 == n && $3 == v { print $4 }' "$lock"
}

fetch() {
	command -v npm >/dev/null || die "npm is needed to fetch; --verify needs only sha256sum"
	command -v node >/dev/null || die "node is needed to fetch"
	# Global, not local: the EXIT trap runs after fetch has returned.
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT

	local out=$tmp/vendor
	mkdir -p "$out"
	{
		echo "# Third-party files of the browser client. Written by scripts/vendor-web.sh;"
		echo "# check with scripts/vendor-web.sh --verify. Do not edit by hand."
		echo "#"
		echo "# package NAME VERSION INTEGRITY(npm tarball) TARBALL"
		echo "# file PATH(relative to web/) sha256:HEX from PATH-IN-TARBALL"
	} >"$tmp/lock"

	local pkg version packed integrity filename tgz want got
	for pkg in preact htm bootstrap; do
		version=$(echo "$FILES" | awk -v n="$pkg" '$1 == n { print $2; exit }')
		echo "vendor-web: npm pack $pkg@$version" >&2
		packed=$(cd "$tmp" && npm pack "$pkg@$version" --json --silent 2>/dev/null) ||
			die "npm pack $pkg@$version failed"
		integrity=$(node -e 'const p = JSON.parse(process.argv[1])[0]; console.log(p.integrity)' "$packed")
		filename=$(node -e 'const p = JSON.parse(process.argv[1])[0]; console.log(p.filename)' "$packed")
		tgz=$tmp/$filename
		[ -f "$tgz" ] || die "npm pack did not write $filename"

		# npm checked the tarball against the registry; check it again
		# ourselves, and against the integrity already locked for this version.
		got=sha512-$(node -e 'const c = require("crypto"), fs = require("fs");
			console.log(c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' "$tgz")
		[ "$got" = "$integrity" ] || die "$filename: integrity $got, registry says $integrity"
		want=$(locked_integrity "$pkg" "$version")
		if [ -n "$want" ] && [ "$want" != "$integrity" ]; then
			die "$pkg@$version: tarball integrity changed since it was locked ($want -> $integrity)"
		fi

		mkdir -p "$tmp/x/$pkg"
		tar -xzf "$tgz" -C "$tmp/x/$pkg"
		echo "package $pkg $version $integrity https://registry.npmjs.org/$pkg/-/$filename" >>"$tmp/lock"

		local name v from to
		while read -r name v from to; do
			[ "$name" = "$pkg" ] || continue
			[ -f "$tmp/x/$pkg/$from" ] || die "$pkg@$version has no $from"
			mkdir -p "$(dirname "$out/${to#static/vendor/}")"
			cp "$tmp/x/$pkg/$from" "$out/${to#static/vendor/}"
			chmod 0644 "$out/${to#static/vendor/}"
			echo "file $to sha256:$(sha256_of "$out/${to#static/vendor/}") from $from" >>"$tmp/lock"
		done <<<"$FILES"
	done

	# Replace the old tree only once everything was fetched and checked.
	rm -rf "$web/static/vendor"
	mkdir -p "$web/static"
	cp -R "$out" "$web/static/vendor"
	cp "$tmp/lock" "$lock"
	echo "vendor-web: wrote web/static/vendor and web/vendor.lock" >&2
	verify
}

case "${1:-}" in
--verify) verify ;;
"") fetch ;;
*) die "usage: $0 [--verify]" ;;
esac
