#!/usr/bin/env bash
# What the tests of remote hosts need: OpenSSH's server (run by the tests themselves on
# 127.0.0.1 with a private config) and client. The package's own sshd is not left listening:
# when this script installs it, the system service is stopped and disabled. Idempotent.
set -euo pipefail

need=()
for package in openssh-server openssh-client; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || need+=("$package")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "install-ssh: please install: ${need[*]} (as root: apt-get install ${need[*]})" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
case " ${need[*]} " in
*" openssh-server "*)
    # Nothing of ours listens on a network port: the tests start their own sshd on loopback.
    if [ -d /run/systemd/system ]; then
        systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
    else
        invoke-rc.d ssh stop >/dev/null 2>&1 || true
        update-rc.d ssh disable >/dev/null 2>&1 || true
    fi
    ;;
esac
