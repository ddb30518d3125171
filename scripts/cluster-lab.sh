#!/bin/bash
# A three-primary Keymaster lab on loopback: a 3-member etcd and three Keymasters in cluster
# mode sharing it (docs/cluster.md). For trying things out, not for production.
#
#   scripts/cluster-lab.sh start [DIR]   start it all; DIR (default /tmp/keymaster-lab) holds the
#                                        configs, the etcd data, the state dirs, the logs and PIDs
#   scripts/cluster-lab.sh stop  [DIR]   stop what start started (by the PIDs it recorded)
#
# Environment:
#   ETCD_NET   etcd members on ETCD_NET.1-3, ports 2379/2380 (default 127.0.2)
#   KM_NET     Keymasters ns1-ns3 on KM_NET.1-3: DNS on KM_PORT, control on :5380 (default 127.0.1)
#   FIRST      the last byte of the first address (default 1: .1-.3)
#   KM_PORT    the DNS port (default 53: run as root, or pick 5300)
#   LEASE_TTL  the primaries' etcd lease TTL (default 5s): how long a dead server's roles stay held
#   KEYMASTER  the command (default: node dist/cli/main.js of this checkout; `npm run build` first)
#
# Then, for instance:
#   keymaster cluster status --config DIR/ns1.yaml
#   keymaster policy add .corp.example --require-validation --config DIR/ns1.yaml
#   keymaster policy list --config DIR/ns3.yaml
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
action=${1:-}
dir=${2:-/tmp/keymaster-lab}
etcd_net=${ETCD_NET:-127.0.2}
km_net=${KM_NET:-127.0.1}
km_port=${KM_PORT:-53}
lease_ttl=${LEASE_TTL:-5s}
first=${FIRST:-1}
etcd_host() { echo "$etcd_net.$((first + $1 - 1))"; }
km_host() { echo "$km_net.$((first + $1 - 1))"; }
read -r -a keymaster <<< "${KEYMASTER:-node $here/dist/cli/main.js}"

endpoints="http://$(etcd_host 1):2379,http://$(etcd_host 2):2379,http://$(etcd_host 3):2379"

fail() { echo "cluster-lab: $*" >&2; exit 1; }

wait_until() { # SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" > /dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "$what did not come up within the time; see the logs in $dir"
    sleep 0.2
  done
}

start_etcd() {
  local cluster="m1=http://$(etcd_host 1):2380,m2=http://$(etcd_host 2):2380,m3=http://$(etcd_host 3):2380"
  for i in 1 2 3; do
    local host
    host=$(etcd_host "$i")
    etcd --name "m$i" --data-dir "$dir/etcd-m$i" \
      --listen-client-urls "http://$host:2379" --advertise-client-urls "http://$host:2379" \
      --listen-peer-urls "http://$host:2380" --initial-advertise-peer-urls "http://$host:2380" \
      --initial-cluster "$cluster" --initial-cluster-token "keymaster-lab-$$" --initial-cluster-state new \
      > "$dir/etcd-m$i.log" 2>&1 &
    echo $! > "$dir/etcd-m$i.pid"
  done
  wait_until 30 "etcd" env ETCDCTL_API=3 etcdctl --endpoints "$endpoints" endpoint health
}

write_config() { # NAME INDEX
  cat > "$dir/$1.yaml" <<EOF
listen: ["$(km_host "$2"):$km_port"]
control: "$(km_host "$2"):5380"
stateDir: $dir/$1/state
recursion:
  allow: ["127.0.0.0/8"]
trustAnchors:
  rootAnchors: $here/trust-anchors/root-anchors.xml
cluster:
  name: $1
  etcd:
    endpoints: ["${endpoints//,/\", \"}"]
    prefix: /keymaster-lab/
  keyEncryptionKey: $dir/kek
  keyMaster: { leaseTtl: $lease_ttl, autoFailover: true }
EOF
}

start() {
  [ -e "$dir/ns1.pid" ] && fail "$dir already holds a lab; stop it first: $0 stop $dir"
  mkdir -p "$dir"
  (umask 077 && openssl rand -hex 32 > "$dir/kek")
  start_etcd
  for i in 1 2 3; do
    write_config "ns$i" "$i"
    "${keymaster[@]}" serve --config "$dir/ns$i.yaml" > "$dir/ns$i.log" 2>&1 &
    echo $! > "$dir/ns$i.pid"
  done
  for i in 1 2 3; do wait_until 60 "ns$i" "${keymaster[@]}" status --config "$dir/ns$i.yaml"; done
  echo "lab up in $dir: etcd on $(etcd_host 1)-3:2379, primaries ns1-ns3 on $(km_host 1)-3 (DNS :$km_port, control :5380)"
  echo "try: ${keymaster[*]} cluster status --config $dir/ns1.yaml"
}

stop_pids() { # PIDFILE...: SIGTERM, then wait up to 10 s for each to exit
  local pid pids=()
  for f in "$@"; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2> /dev/null && pids+=("$pid")
    rm -f "$f"
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.2; done
  done
}

stop() {
  # The primaries first (a clean stop revokes their leases in etcd), then etcd.
  stop_pids "$dir"/ns?.pid
  stop_pids "$dir"/etcd-m?.pid
  echo "lab in $dir stopped (its files stay; rm -r $dir to start afresh)"
}

case $action in
  start) start ;;
  stop) stop ;;
  *) fail "usage: $0 start|stop [DIR]" ;;
esac
