#!/usr/bin/env bash
# A one-node Slurm cluster on this machine (slurmctld + slurmd + munged, no systemd), to try
# scripts/cluster/slurm-campaign.sh for real. Run as root. See --help.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prog=$(basename "$0")
dir=${ONNXFUZZ_SLURM_DIR:-/tmp/onnxfuzz-slurm}

usage() {
  cat <<EOF
usage: $prog start | stop | status | run [slurm-campaign.sh options]

A one-node Slurm cluster on this host, for trying the campaign recipe:
  start   install slurm-wlm and munge if missing (apt-get), write \$DIR/slurm.conf for this
          host (its hostname, nproc CPUs, RealMemory from /proc/meminfo, partition 'debug'),
          create the munge key, start munged, slurmctld and slurmd, wait until the node is idle
  stop    shut the daemons down (the ones started by 'start', by their pid files)
  status  sinfo and squeue of the cluster
  run     start if needed, then scripts/cluster/slurm-campaign.sh --wait --partition debug with
          the given options (default: --shards 2 --time 60s --out \$DIR/campaign-<time>),
          and print the merge job's log (status and triage) and the wall time

State, logs and the config live in \$DIR (ONNXFUZZ_SLURM_DIR, now $dir). Slurm's client
commands need the config: export SLURM_CONF=\$DIR/slurm.conf (printed by 'start').
exit codes: 0 ok, 2 usage error, 4 environment error (not root, install failed, a daemon did
not start); status: 3 when the cluster is not running; run: slurm-campaign.sh's exit code.
EOF
}

die() {
  echo "$prog: $*" >&2
  exit 4
}
log() { echo "[slurm-local] $*"; }

conf=$dir/slurm.conf
munged_pid=/run/munge/onnxfuzz-munged.pid
export SLURM_CONF=$conf

install_packages() {
  local missing=() p
  for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]} (apt-get)"
  apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >"$dir/apt.log" 2>&1 || die "apt-get install ${missing[*]} failed; see $dir/apt.log"
}

write_conf() {
  local host cpus mem_kb mem_mb
  host=$(hostname -s)
  cpus=$(nproc)
  mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
  # A little under the total: slurmd drains a node that reports less memory than configured.
  mem_mb=$((mem_kb / 1024 * 95 / 100))
  local addr=""
  getent hosts "$host" >/dev/null || addr=" NodeAddr=127.0.0.1"
  mkdir -p "$dir/state/ctld" "$dir/state/d" "$dir/log" "$dir/run"
  cat > "$conf" <<EOF
# One-node Slurm cluster written by scripts/cluster/slurm-local.sh for host $host.
ClusterName=onnxfuzz-local
SlurmctldHost=$host${addr:+(127.0.0.1)}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=$dir/state/ctld
SlurmdSpoolDir=$dir/state/d
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldTimeout=60
SlurmdTimeout=60
InactiveLimit=0
MinJobAge=300
KillWait=30
Waittime=0
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN$addr
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  log "wrote $conf ($host: $cpus CPUs, RealMemory=$mem_mb MB)"
}

pid_of() { cat "$1" 2>/dev/null || true; }
pid_alive() {
  local pid
  pid=$(pid_of "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

start_munge() {
  if [ -S /run/munge/munge.socket.2 ] && pid_alive "$munged_pid"; then return 0; fi
  if [ ! -s /etc/munge/munge.key ]; then
    log "creating /etc/munge/munge.key"
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null; then
      mungekey --create --keyfile /etc/munge/munge.key --force
    else
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  chmod 755 /run/munge
  # munged runs as the munge user, as the packaged service does; its pid file and log go where
  # that user may write.
  runuser -u munge -- /usr/sbin/munged --pid-file="$munged_pid" \
    --log-file=/var/log/munge/munged.log --force ||
    die "munged did not start; see /var/log/munge/munged.log"
  munge -n | unmunge >/dev/null || die "munge does not work (munge -n | unmunge failed)"
  log "munged is running"
}

start() {
  [ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts daemons)"
  mkdir -p "$dir"
  install_packages
  if pid_alive "$dir/run/slurmctld.pid" && pid_alive "$dir/run/slurmd.pid"; then
    log "already running (stop first to rewrite the config)"
  else
    write_conf
    start_munge
    # -i: ignore state from an earlier cluster in $dir (old jobs, the node's old state).
    pid_alive "$dir/run/slurmctld.pid" || slurmctld -f "$conf" -i ||
      die "slurmctld did not start; see $dir/log/slurmctld.log"
    pid_alive "$dir/run/slurmd.pid" || slurmd -f "$conf" ||
      die "slurmd did not start; see $dir/log/slurmd.log"
  fi
  local host state
  host=$(hostname -s)
  for _ in $(seq 1 60); do
    state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
    case $state in
      idle|mixed|allocated) break ;;
      down*|drain*) scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 1
  done
  case $state in
    idle|mixed|allocated) ;;
    *) die "node $host is '${state:-unknown}' after 60 s; see $dir/log/slurmctld.log and slurmd.log" ;;
  esac
  sinfo
  log "cluster up; for Slurm's commands: export SLURM_CONF=$conf"
}

stop() {
  local name
  if pid_alive "$dir/run/slurmctld.pid"; then
    scontrol shutdown >/dev/null 2>&1 || true  # slurmctld and every slurmd
  fi
  for name in slurmd slurmctld munged; do
    local pidfile=$dir/run/$name.pid
    [ "$name" != munged ] || pidfile=$munged_pid
    pid_alive "$pidfile" || continue
    kill "$(pid_of "$pidfile")" 2>/dev/null || true
    for _ in $(seq 1 20); do
      pid_alive "$pidfile" || break
      sleep 0.5
    done
    if pid_alive "$pidfile"; then
      kill -9 "$(pid_of "$pidfile")" 2>/dev/null || true
    fi
    log "$name stopped"
  done
  rm -f "$dir/run/"*.pid "$munged_pid"
}

status() {
  pid_alive "$dir/run/slurmctld.pid" || { echo "not running ($dir)"; return 3; }
  sinfo
  squeue
}

run() {
  pid_alive "$dir/run/slurmctld.pid" && pid_alive "$dir/run/slurmd.pid" || start
  # Defaults for what the options do not set: 2 shards of 60 s into $dir/campaign-<time>.
  local args=() has_out=0 has_shards=0 has_length=0 a
  for a in "$@"; do
    [ "$a" != -- ] || break
    case $a in
      -o|--out|--out=*) has_out=1 ;;
      -n|--shards|--shards=*) has_shards=1 ;;
      -t|--time|--time=*|-i|--iterations|--iterations=*) has_length=1 ;;
    esac
  done
  [ "$has_out" = 1 ] || args+=(--out "$dir/campaign-$(date -u +%Y%m%d-%H%M%S)")
  [ "$has_shards" = 1 ] || args+=(--shards 2)
  [ "$has_length" = 1 ] || args+=(--time 60s)
  args+=("$@")
  local t0 rc=0
  t0=$(date +%s)
  bash "$here/slurm-campaign.sh" --partition debug --wait "${args[@]}" || rc=$?
  log "wall time $(( $(date +%s) - t0 )) s (submission to merged triage), exit $rc"
  return "$rc"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  run) shift; run "$@" ;;
  -h|--help) usage ;;
  "") usage >&2; exit 2 ;;
  *) echo "$prog: unknown command '$1'" >&2; usage >&2; exit 2 ;;
esac
