#!/bin/bash
# Run virtlogd + libvirtd by hand (no systemd as PID 1 here) inside a private
# network namespace, so libvirt's bridges, dnsmasq and the guests' addresses
# exist only inside it. Run vagrant/vmbuild with: ip netns exec NS ...
#
#   libvirt-netns.sh start NS RUNDIR   start (idempotent), wait until virsh answers
#   libvirt-netns.sh stop  NS RUNDIR   destroy leftover domains/networks, stop daemons, delete NS
#
# libvirtd is machine-wide (one socket in /run/libvirt), so callers serialise
# with a lock file; see tests/e2e_vagrant_libvirt.rs.
set -u
cmd=${1:?start|stop}; NS=${2:?namespace}; R=${3:?run dir}
URI=qemu:///system

stop_pid() { # pidfile
  [ -f "$1" ] || return 0
  local p; p=$(cat "$1")
  kill "$p" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
  rm -f "$1"
}

case "$cmd" in
start)
  ip netns list | grep -qw "$NS" || ip netns add "$NS"
  ip -n "$NS" link set lo up
  mkdir -p "$R" /run/libvirt /var/log/libvirt
  if ! { [ -f "$R/libvirtd.pid" ] && kill -0 "$(cat "$R/libvirtd.pid")" 2>/dev/null; }; then
    ip netns exec "$NS" virtlogd -d -p "$R/virtlogd.pid"
    ip netns exec "$NS" libvirtd -d -p "$R/libvirtd.pid"
  fi
  for _ in $(seq 60); do virsh -c $URI version >/dev/null 2>&1 && exit 0; sleep 0.5; done
  echo "libvirtd did not answer within 30 s" >&2; exit 1
  ;;
stop)
  if [ -f "$R/libvirtd.pid" ] && virsh -c $URI version >/dev/null 2>&1; then
    # anything a failed test left behind: domains named vmbuild-*, their networks
    for d in $(virsh -c $URI list --all --name | grep '^vmbuild-'); do
      virsh -c $URI destroy "$d" >/dev/null 2>&1
      virsh -c $URI undefine "$d" --remove-all-storage >/dev/null 2>&1
    done
    for n in $(virsh -c $URI net-list --name); do
      virsh -c $URI net-destroy "$n" >/dev/null 2>&1
    done
  fi
  stop_pid "$R/libvirtd.pid"
  stop_pid "$R/virtlogd.pid"
  # dnsmasq instances libvirt started for its networks outlive libvirtd
  for f in /run/libvirt/network/*.pid /var/lib/libvirt/dnsmasq/*.pid; do
    [ -f "$f" ] && stop_pid "$f"
  done
  ip netns del "$NS" 2>/dev/null || true
  ;;
*) echo "usage: $0 start|stop NS RUNDIR" >&2; exit 2 ;;
esac
