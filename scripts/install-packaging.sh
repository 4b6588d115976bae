#!/usr/bin/env bash
# What `make deb`, the real-host rig and `vagrant validate` need: Debian's packaging tools with
# dh-virtualenv and help2man, debootstrap, and vagrant. Idempotent.
set -euo pipefail

need=()
for package in build-essential debhelper dh-virtualenv help2man debootstrap vagrant; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || need+=("$package")
done
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-packaging: please install: ${need[*]} (as root: apt-get install ${need[*]})" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
fi
