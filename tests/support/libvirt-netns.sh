#!/bin/bash
# Run virtlogd + libvirtd by hand (no systemd as PID 1 here) inside a private
# network namespace, so libvirt's bridges, dnsmasq and the guests' addresses
# exist only inside it. Run vagrant/vmbuild with: ip netns exec NS ...
#
#   libvirt-netns.sh start NS RUNDIR   start (idempotent), wait until virsh answers
#   libvirt-netns.sh stop  NS RUNDIR   destroy leftover domains/networks, stop daemons, delete NS
#
# The guests reach the package registries (and nothing else) through a
# proxy: a veth joins the namespace to the machine (10.231.0.2 inside,
# 10.231.0.1 outside) and tinyproxy on the machine's end allows HTTP and
# CONNECT to ports 80 and 443 only. libvirt's NAT network masquerades the
# guests' traffic to the veth address. Configure the VM with
#   proxy.http_proxy = proxy.https_proxy = "http://10.231.0.1:3128"
#
# libvirtd is machine-wide (one socket in /run/libvirt), so callers serialise
# with a lock file; see tests/e2e_vagrant_libvirt.rs.
set -u
cmd=${1:?start|stop}; NS=${2:?namespace}; R=${3:?run dir}
URI=qemu:///system
HOST_IF=vmbvlv0 NS_IF=vmbvlv1 HOST_IP=10.231.0.1 NS_IP=10.231.0.2

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
  if ! ip link show "$HOST_IF" >/dev/null 2>&1; then
    ip link add "$HOST_IF" type veth peer name "$NS_IF"
    ip link set "$NS_IF" netns "$NS"
    ip addr add "$HOST_IP/30" dev "$HOST_IF"; ip link set "$HOST_IF" up
    ip -n "$NS" addr add "$NS_IP/30" dev "$NS_IF"; ip -n "$NS" link set "$NS_IF" up
  fi
  if ! { [ -f "$R/tinyproxy.pid" ] && kill -0 "$(cat "$R/tinyproxy.pid")" 2>/dev/null; }; then
    printf '%s\n' "User nobody" "Group nogroup" "Port 3128" "Listen $HOST_IP" "Allow $NS_IP" \
      "Allow 192.168.121.0/24" "Timeout 600" "MaxClients 64" "ConnectPort 443" "ConnectPort 80" \
      "DisableViaHeader Yes" "LogLevel Warning" >"$R/tinyproxy.conf"
    setsid tinyproxy -d -c "$R/tinyproxy.conf" >>"$R/tinyproxy.log" 2>&1 </dev/null &
    echo $! >"$R/tinyproxy.pid"
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
  stop_pid "$R/tinyproxy.pid"
  ip link del "$HOST_IF" 2>/dev/null || true
  # dnsmasq instances libvirt started for its networks outlive libvirtd
  for f in /run/libvirt/network/*.pid /var/lib/libvirt/dnsmasq/*.pid; do
    [ -f "$f" ] && stop_pid "$f"
  done
  ip netns del "$NS" 2>/dev/null || true
  ;;
*) echo "usage: $0 start|stop NS RUNDIR" >&2; exit 2 ;;
esac
