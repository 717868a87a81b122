#!/usr/bin/env bash
# A throwaway 3-node MariaDB Galera cluster on 127.0.0.1, for the multi-primary e2e suite and for
# trying things by hand. It never touches the system server (port 3306, /var/lib/mysql, /etc/mysql):
# every node reads only the option file written here, into a temporary directory of its own.
#
#   galera-cluster.sh start [DIR] [PORTS]   prints DIR on success; waits until every node is Synced
#   galera-cluster.sh stop DIR              kills the nodes (by their pid files) and removes DIR
#
# Each node i (0, 1, 2) needs four ports: SQL, group communication, IST, SST. PORTS is either the
# twelve of them, comma-separated, in that order node by node (the e2e suite passes free ports),
# or a PORT_BASE, from which node i takes PORT_BASE + 10*i + 0, +1, +2, +3 (by hand; default
# 47100). Environment: MARIADBD, MARIADB_INSTALL_DB, WSREP_PROVIDER override the Debian paths;
# GALERA_BUFFER_POOL (default 32M).
set -euo pipefail

MARIADBD=${MARIADBD:-/usr/sbin/mariadbd}
INSTALL_DB=${MARIADB_INSTALL_DB:-$(command -v mariadb-install-db || echo /usr/bin/mariadb-install-db)}
PROVIDER=${WSREP_PROVIDER:-/usr/lib/galera/libgalera_smm.so}
BUFFER_POOL=${GALERA_BUFFER_POOL:-32M}
NODES=3

die() { echo "galera-cluster: $*" >&2; exit 1; }

PORTS=()
port() { echo "${PORTS[$((4 * $1 + $3))]}"; } # port NODE BASE OFFSET (BASE: unused, PORTS holds them)

set_ports() { # set_ports PORTS|PORT_BASE
  if [[ $1 == *,* ]]; then
    IFS=, read -r -a PORTS <<<"$1"
    [ "${#PORTS[@]}" = $((4 * NODES)) ] || die "PORTS must list $((4 * NODES)) ports, got ${#PORTS[@]}"
  else
    PORTS=()
    for i in $(seq 0 $((NODES - 1))); do
      for offset in 0 1 2 3; do PORTS+=($(($1 + 10 * i + offset))); done
    done
  fi
  for p in "${PORTS[@]}"; do [[ $p =~ ^[0-9]+$ ]] || die "not a port: $p"; done
}

# mariadbd refuses to run as root unless told which user to be. As root the nodes run as mysql
# (the directories are given to it): the rsync daemon of a state transfer, started by the node,
# would otherwise drop from root to nobody and could not write the data directory. Anyone else
# runs the nodes as themselves.
user_option() { if [ "$(id -u)" = 0 ]; then echo "--user=mysql"; fi; }

sql() { # sql NODE DIR BASE STATEMENT
  local node=$1 dir=$2 base=$3
  mariadb --no-defaults --protocol=socket --socket="$dir/node$node/mysqld.sock" -u root -N -B -e "$4" 2>/dev/null
}

write_config() { # write_config NODE DIR BASE
  local node=$1 dir=$2 base=$3 n="$2/node$1" members=()
  for i in $(seq 0 $((NODES - 1))); do members+=("127.0.0.1:$(port "$i" "$base" 1)"); done
  local address
  address=$(IFS=,; echo "${members[*]}")
  cat >"$n/my.cnf" <<EOF
[mysqld]
datadir=$n/data
tmpdir=$n/tmp
socket=$n/mysqld.sock
pid-file=$n/mysqld.pid
log-error=$n/error.log
bind-address=127.0.0.1
port=$(port "$node" "$base" 0)
skip-name-resolve
skip-log-bin
innodb_buffer_pool_size=$BUFFER_POOL
innodb_log_file_size=16M
innodb_flush_log_at_trx_commit=2
performance_schema=OFF
max_connections=200
# What Galera requires (docs/operations.md).
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
wsrep_on=ON
wsrep_provider=$PROVIDER
wsrep_cluster_name=gatehouse-test
wsrep_cluster_address=gcomm://$address
wsrep_node_name=node$node
wsrep_node_address=127.0.0.1:$(port "$node" "$base" 1)
wsrep_node_incoming_address=127.0.0.1:$(port "$node" "$base" 0)
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:$(port "$node" "$base" 3)
wsrep_provider_options="base_host=127.0.0.1;base_port=$(port "$node" "$base" 1);ist.recv_addr=127.0.0.1:$(port "$node" "$base" 2);gcache.size=32M;gcs.fc_limit=64;evs.join_retrans_period=PT0.2S"
# The server defaults an operator is likely to keep, except that a conflicting autocommit
# statement is not retried by the server: Gatehouse must cope with ER_LOCK_DEADLOCK itself.
wsrep_retry_autocommit=0
wsrep_sync_wait=0
wsrep_slave_threads=2
EOF
}

start_node() { # start_node NODE DIR [--wsrep-new-cluster]
  local node=$1 dir=$2
  shift 2
  # shellcheck disable=SC2046
  "$MARIADBD" --defaults-file="$dir/node$node/my.cnf" $(user_option) "$@" >>"$dir/node$node/stdout.log" 2>&1 &
  echo $! >"$dir/node$node/launcher.pid"
}

wait_synced() { # wait_synced NODE DIR BASE SECONDS
  local node=$1 dir=$2 base=$3 deadline=$((SECONDS + $4)) state size
  while [ $SECONDS -lt $deadline ]; do
    if ! kill -0 "$(cat "$dir/node$node/launcher.pid")" 2>/dev/null; then
      tail -n 30 "$dir/node$node/error.log" >&2 || true
      die "node$node exited during start-up (log above)"
    fi
    state=$(sql "$node" "$dir" "$base" "SHOW STATUS LIKE 'wsrep_local_state_comment'" | cut -f2 || true)
    size=$(sql "$node" "$dir" "$base" "SHOW STATUS LIKE 'wsrep_cluster_size'" | cut -f2 || true)
    if [ "$state" = Synced ]; then return 0; fi
    sleep 0.2
  done
  tail -n 30 "$dir/node$node/error.log" >&2 || true
  die "node$node not Synced after $4 s (state '${state:-}', cluster size '${size:-}')"
}

start() {
  local dir=${1:-} base=${2:-47100}
  set_ports "$base"
  [ -x "$MARIADBD" ] || die "$MARIADBD not found (apt-get install mariadb-server)"
  if [ "$(id -u)" = 0 ] && ! id mysql >/dev/null 2>&1; then die "no mysql user to run the nodes as (apt-get install mariadb-server)"; fi
  [ -r "$PROVIDER" ] || die "$PROVIDER not found (apt-get install galera-4)"
  command -v rsync >/dev/null || die "rsync not found (the state transfer to joining nodes uses it)"
  if [ -z "$dir" ]; then dir=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-galera.XXXXXX"); else mkdir -p "$dir"; fi
  for i in $(seq 0 $((NODES - 1))); do
    for offset in 0 1 2 3; do
      local p
      p=$(port "$i" "$base" "$offset")
      if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then die "port $p is in use (another cluster still running?)"; fi
    done
  done
  mkdir -p "$dir/node0/data" "$dir/node0/tmp"
  if [ "$(id -u)" = 0 ]; then
    chmod 755 "$dir"
    chown -R mysql:mysql "$dir/node0"
  fi
  # One system database, copied to the other nodes: the joiners replace it by state transfer anyway.
  # root@127.0.0.1 without a password, like the system server the other suites use.
  # shellcheck disable=SC2046
  "$INSTALL_DB" --no-defaults --datadir="$dir/node0/data" $(user_option) --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; die "mariadb-install-db failed"; }
  for i in $(seq 1 $((NODES - 1))); do
    mkdir -p "$dir/node$i"
    cp -a "$dir/node0/data" "$dir/node0/tmp" "$dir/node$i/"
  done
  for i in $(seq 0 $((NODES - 1))); do write_config "$i" "$dir" "$base"; done
  if [ "$(id -u)" = 0 ]; then chown -R mysql:mysql "$dir"/node*; fi

  start_node 0 "$dir" --wsrep-new-cluster
  wait_synced 0 "$dir" "$base" 60
  # The joiners start together; one waits while the other receives its state transfer.
  for i in $(seq 1 $((NODES - 1))); do start_node "$i" "$dir"; done
  for i in $(seq 1 $((NODES - 1))); do wait_synced "$i" "$dir" "$base" 90; done
  for i in $(seq 0 $((NODES - 1))); do
    local size
    size=$(sql "$i" "$dir" "$base" "SHOW STATUS LIKE 'wsrep_cluster_size'" | cut -f2)
    [ "$size" = "$NODES" ] || die "node$i sees a cluster of $size nodes"
  done
  echo "$dir"
}

stop() {
  local dir=${1:?usage: galera-cluster.sh stop DIR}
  [ -d "$dir" ] || return 0
  [ -f "$dir/node0/my.cnf" ] || [ -f "$dir/gatehouse-cluster.json" ] || die "$dir is not a cluster directory made by this script"
  local pids=()
  for n in "$dir"/node?; do
    [ -d "$n" ] || continue
    for f in "$n/launcher.pid" "$n/mysqld.pid"; do
      if [ -f "$f" ]; then pids+=("$(cat "$f")"); fi
    done
  done
  for pid in ${pids[@]+"${pids[@]}"}; do kill -9 "$pid" 2>/dev/null || true; done
  # Their rsync daemons (state transfer) if a node died in the middle of one.
  for n in "$dir"/node?; do
    for f in "$n"/data/*.pid; do
      if [ -f "$f" ]; then kill -9 "$(cat "$f")" 2>/dev/null || true; fi
    done
  done
  for pid in ${pids[@]+"${pids[@]}"}; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  rm -rf "$dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) die "usage: $0 start [DIR] [PORT,PORT,... | PORT_BASE] | stop DIR" ;;
esac
