#!/usr/bin/env bash
# `make deb`: the Debian package, built with dh-virtualenv from the project's files (tracked, plus
# new files not ignored: what a clean clone has, with your changes) in build/deb; the .deb lands
# in dist/. Prints the .deb's path. With --if-changed, a .deb built from the same files is reused.
set -euo pipefail
cd "$(dirname "$0")/.."

# What goes into the package: the project's files less its tests, benchmarks, CI and Vagrantfile.
project_files() {
    git ls-files -z --cached --others --exclude-standard | grep -zvE '^(packaging/|tests/|benchmarks/|\.ci/|Vagrantfile$)' |
        xargs -0 -I{} sh -c '[ ! -e "$1" ] || printf "%s\0" "$1"' _ {}
}

for tool in dpkg-buildpackage dh_virtualenv help2man; do
    command -v "$tool" >/dev/null || {
        echo "build-deb: $tool is missing (run scripts/install-packaging.sh)" >&2
        exit 1
    }
done
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' overmind/__init__.py)
[ -n "$version" ] || { echo "build-deb: no __version__ in overmind/__init__.py" >&2; exit 1; }

inputs=$( (cat <(project_files) <(git ls-files -z --cached --others --exclude-standard packaging) | sort -z |
               tar -c --null -T - --mtime=@0 --owner=0 --group=0 --numeric-owner
           echo "extras=${DEB_EXTRAS-default}") | sha256sum | cut -c1-16)
if [ "${1:-}" = --if-changed ] && [ "$(cat dist/.deb-inputs 2>/dev/null)" = "$inputs" ]; then
    deb=$(ls dist/overmind_"$version"_*.deb 2>/dev/null | head -n1)
    [ -z "$deb" ] || { echo "$deb"; exit 0; }
fi

stage=build/deb/overmind-$version
rm -rf build/deb dist/.deb-inputs
mkdir -p "$stage" dist
project_files | tar -c --null -T - | tar -x -C "$stage"
cp -r packaging/debian "$stage/debian"
cat >"$stage/debian/changelog" <<CHANGELOG
overmind ($version) unstable; urgency=medium

  * Release $version.

 -- overmind developers <overmind@localhost>  $(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")
CHANGELOG

(cd "$stage" && dpkg-buildpackage -us -uc -b >../build.log 2>&1) || {
    tail -n 30 build/deb/build.log >&2
    echo "build-deb: dpkg-buildpackage failed (full log: build/deb/build.log)" >&2
    exit 1
}
deb=$(ls build/deb/overmind_"$version"_*.deb)
mv "$deb" dist/
echo "$inputs" >dist/.deb-inputs
echo "dist/$(basename "$deb")"
