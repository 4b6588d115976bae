#!/usr/bin/env bash
# Podman for missions' container services (and the real-host test rig): podman with runc,
# catatonit and slirp4netns from Debian, configured for this machine's cgroup layout.
# Idempotent; never overwrites a containers.conf it did not write.
set -euo pipefail

need=()
for tool in podman runc catatonit slirp4netns; do
    command -v "$tool" >/dev/null || [ -x "/usr/libexec/podman/$tool" ] || need+=("$tool")
done
# The tests' tiny local images need a static busybox (Debian's plain busybox is dynamic).
if ! command -v busybox >/dev/null || ! ldd "$(command -v busybox)" 2>&1 | grep -q 'not a dynamic'; then
    need+=(busybox-static)
fi
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-podman: please install: ${need[*]} (as root: apt-get install ${need[*]})" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
fi

# Where systemd is not PID 1 and the cgroup tree is hybrid or v1 (no cgroup.controllers at the
# root), podman's defaults (crun, the systemd cgroup manager) cannot work: use runc and cgroupfs,
# and keep the default ulimits within root's hard limits.
conf=/etc/containers/containers.conf
marker="# written by overmind's install-podman.sh"
if [ "$(id -u)" -eq 0 ] && [ ! -e /sys/fs/cgroup/cgroup.controllers -o "$(cat /proc/1/comm 2>/dev/null)" != systemd ]; then
    if [ -e "$conf" ] && ! grep -qF "$marker" "$conf"; then
        echo "install-podman: $conf exists and was not written here; left as it is" >&2
    else
        # Modest fixed ceilings: podman's own defaults (1048576 / 4194304) exceed what root may
        # set in a sandbox, and so can the shell's hard limit as seen from conmon.
        nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] || [ "$nofile" -gt 16384 ] && nofile=16384
        nproc=$(ulimit -Hu); [ "$nproc" = unlimited ] || [ "$nproc" -gt 4096 ] && nproc=4096
        mkdir -p /etc/containers
        tmp=$(mktemp "$conf.XXXXXX")
        cat >"$tmp" <<CONF
$marker
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
        if cmp -s "$tmp" "$conf" 2>/dev/null; then rm -f "$tmp"; else mv "$tmp" "$conf"; chmod 644 "$conf"; fi
    fi
fi
podman --version >/dev/null
