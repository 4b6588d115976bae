#!/usr/bin/env bash
# The multi-host rig's image: the real-host rig's image (scripts/realhost-image.sh) with OpenSSH's
# server, each container making its own host keys at its first boot. Prints the image's name.
#
# Tagged with a hash of the base image's tag and of this script, so a warm call only asks podman
# whether that tag exists. Built in a container of the base image (with the host's network, for
# apt), then committed; safe over a killed earlier run (the build container has a fixed name and
# is removed first, the tag appears only once complete).
set -euo pipefail
cd "$(dirname "$0")/.."

base=$(./scripts/realhost-image.sh | tail -n1)
tag=$( (echo "$base"; cat "$0") | sha256sum | cut -c1-12)
image=localhost/omrig-ssh:$tag
if podman image exists "$image"; then
    echo "$image"
    exit 0
fi
CACHE=${OVERMIND_RIG_CACHE:-/var/cache/overmind-rig}
mkdir -p "$CACHE"
exec 9>"$CACHE/ssh-build.lock"
flock 9
if podman image exists "$image"; then
    echo "$image"
    exit 0
fi
builder=omrig-ssh-build
podman rm -f "$builder" >/dev/null 2>&1 || true
podman run --name "$builder" --network host "$base" /bin/sh -ec '
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
    rm -f /etc/ssh/ssh_host_*
    mkdir -p /etc/systemd/system/ssh.service.d
    printf "[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n" \
        >/etc/systemd/system/ssh.service.d/host-keys.conf
    apt-get clean
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin' >"$CACHE/ssh-build.log" 2>&1 ||
    { tail -n 20 "$CACHE/ssh-build.log" >&2; podman rm -f "$builder" >/dev/null 2>&1; exit 1; }
podman commit -q --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' "$builder" "$image" >/dev/null
podman rm -f "$builder" >/dev/null
podman images --format '{{.Repository}}:{{.Tag}}' | grep '^localhost/omrig-ssh:' | grep -vF "$image" |
    xargs -r podman rmi >/dev/null 2>&1 || true
echo "$image"
