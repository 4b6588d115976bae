#!/usr/bin/env bash
# Builds the real-host test rig's base image: a Debian 12 root file system where systemd is PID 1,
# with a normal user `dev` (uid 1000, lingering, so user@1000.service starts at boot) and a user
# `nolinger` (uid 1001, without), and Podman for `dev` (rootless, as a user's own containers run;
# the container that runs it needs the options rig.py gives a `nested_podman` host). Prints the
# image's name.
#
# Cached twice: debootstrap's .debs in $CACHE/debs, and the imported image, tagged with a hash of
# this script, so a warm call only asks podman whether that tag exists. Safe over a killed earlier
# run: the root file system is built in a fresh directory and the tag appears only once complete.
set -euo pipefail

CACHE=${OVERMIND_RIG_CACHE:-/var/cache/overmind-rig}
PACKAGES=systemd,systemd-sysv,dbus,dbus-user-session,libpam-systemd,python3,python3-venv,pipx,sudo,git,procps,bash-completion
tag=$(sha256sum "$0" | cut -c1-12)
image=localhost/omrig-host:$tag

if podman image exists "$image"; then
    echo "$image"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "realhost-image: building the rig's image needs root (debootstrap)" >&2
    exit 1
fi
command -v debootstrap >/dev/null || {
    echo "realhost-image: debootstrap is missing (run scripts/install-realhost.sh)" >&2
    exit 1
}

mkdir -p "$CACHE/debs"
exec 9>"$CACHE/build.lock"
flock 9  # two runs at once: the second waits, then finds the image
if podman image exists "$image"; then
    echo "$image"
    exit 0
fi
rm -rf "$CACHE"/rootfs.*  # what a killed build left behind (we hold the lock: nobody else builds)
rootfs=$(mktemp -d "$CACHE/rootfs.XXXXXX")
trap 'rm -rf "$rootfs"' EXIT

# The mirror this machine already uses (deb822 or one-line sources), Debian's own otherwise.
mirror=$(sed -n 's/^URIs: *\([^ ]*debian\/\{0,1\}\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*debian\/\{0,1\}\) .*/\2/p' \
    /etc/apt/sources.list 2>/dev/null | head -n1)
mirror=${mirror:-http://deb.debian.org/debian}

debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$CACHE/debs" \
    bookworm "$rootfs" "$mirror" >"$CACHE/debootstrap.log" 2>&1 || {
    tail -n 20 "$CACHE/debootstrap.log" >&2
    exit 1
}

chroot "$rootfs" /bin/sh -es <<'SETUP'
# Podman for dev's own containers (debootstrap cannot configure its dependencies itself).
{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    podman crun uidmap slirp4netns catatonit; } >/var/tmp/podman-install.log 2>&1 ||
    { tail -n 20 /var/tmp/podman-install.log >&2; exit 1; }
useradd --create-home --uid 1000 --shell /bin/bash dev
useradd --create-home --uid 1001 --shell /bin/bash nolinger
mkdir -p /var/lib/systemd/linger /var/log/journal
touch /var/lib/systemd/linger/dev
echo omrig-host >/etc/hostname
# The container has no network and no console: nothing should wait for either.
systemctl mask systemd-networkd-wait-online.service getty@tty1.service console-getty.service \
    systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1
# Podman's system services are not used (dev's podman runs rootless, as its own processes).
systemctl mask podman.service podman.socket podman-restart.service podman-auto-update.service \
    podman-auto-update.timer >/dev/null 2>&1
# Rootless networking (slirp4netns) opens /dev/net/tun, which podman passes in as root's only.
echo 'z /dev/net/tun 0666 - - -' >/etc/tmpfiles.d/omrig-tun.conf
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
SETUP

tar -C "$rootfs" -c . | podman import --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' \
    - "$image" >/dev/null 2>"$CACHE/import.log" || { cat "$CACHE/import.log" >&2; exit 1; }
# Older images of the rig (built by an earlier version of this script) are no longer used.
podman images --format '{{.Repository}}:{{.Tag}}' | grep '^localhost/omrig-host:' | grep -vF "$image" |
    xargs -r podman rmi >/dev/null 2>&1 || true
echo "$image"
