#!/usr/bin/env bash
# A private one-node SLURM cluster in DIR: its own munged (own key and socket), slurmctld and slurmd on
# 127.0.0.1 with free ports, one partition `debug`, every file under DIR. For trying the SLURM launchers
# (hydra/launcher=slurm_debug, slurm_cpu) on one machine, and what the tests use (tests/slurm_cluster.py).
#
#   docker/slurm/one_node_cluster.sh start DIR [CPUS]   # CPUS declared for the node (default 4, any number)
#   source DIR/env                                      # SLURM_CONF: sbatch, squeue, scancel see this cluster
#   python -m jpegai_fd -m hydra/launcher=slurm_debug debug=tiny bpp=6,12
#   docker/slurm/one_node_cluster.sh stop DIR           # stops the daemons (DIR stays; delete it yourself)
#
# Needs the Debian/Ubuntu packages slurm-wlm (slurmctld, slurmd, client commands) and munge, and root:
# the daemons run as root (SlurmUser=root) so that jobs run as whoever submits them. No accounting
# database (slurmdbd), so `sacct` answers nothing; see README "Scaling out".
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR [CPUS]" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
cmd=$1
dir=$(realpath -m "$2")
cpus=${3:-4}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

write_conf() {
    local host mem plugins
    host=$(hostname -s)
    # Declared a little under what the machine has: slurmd drains a node that reports less than declared.
    mem=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) * 9 / 10 ))
    plugins=$(dirname "$(command -v slurmctld)")/../lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)/slurm-wlm
    : > "$dir/plugstack.conf"  # none of the system's SPANK plugins
    cat > "$dir/slurm.conf" <<EOF
ClusterName=jfd
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job waits this many seconds before it may start again (default 120).
AuthInfo=socket=$dir/munge/munge.socket,cred_expire=10
PluginDir=$(realpath -m "$plugins")
PlugStackConfig=$dir/plugstack.conf
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
# No cgroups (containers rarely delegate them): processes tracked through /proc, no CPU binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# Use the declared CPUs, not the detected ones: a 2-core machine runs a 4-CPU node.
SlurmdParameters=config_overrides
SchedulerType=sched/builtin
# Pending jobs checked every 2 s (default 60): a requeued job starts as soon as cred_expire allows.
SchedulerParameters=sched_interval=2
ReturnToService=2
# SIGTERM, then SIGKILL 10 s later (default 30): time for a job to mark its run KILLED.
KillWait=10
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    echo "export SLURM_CONF=$dir/slurm.conf" > "$dir/env"
}

start() {
    for exe in munged mungekey slurmctld slurmd sinfo; do
        command -v "$exe" > /dev/null || { echo "$0: $exe not found: apt-get install slurm-wlm munge" >&2; exit 1; }
    done
    mkdir -p "$dir"/{munge,state,spool}
    chmod 711 "$dir" "$dir/munge"  # munged wants its socket reachable by every user (to authenticate them)
    mungekey --create --keyfile "$dir/munge/munge.key"
    munged --socket "$dir/munge/munge.socket" --key-file "$dir/munge/munge.key" --pid-file "$dir/munge/munged.pid" \
        --seed-file "$dir/munge/munged.seed" --log-file "$dir/munge/munged.log"
    write_conf
    export SLURM_CONF=$dir/slurm.conf
    slurmctld -i
    slurmd
    # Ready once the node is idle (typically 1-2 s).
    for _ in $(seq 150); do
        if [[ $(sinfo -h -n "$(hostname -s)" -o %t 2>/dev/null) == idle ]]; then
            echo "one-node SLURM cluster ready: source $dir/env"
            return 0
        fi
        sleep 0.2
    done
    echo "$0: the node never became idle; see $dir/slurmctld.log and $dir/slurmd.log" >&2
    stop
    exit 1
}

stop_pid() {  # stop the daemon whose pid file is $1, waiting until it is gone
    [[ -f $1 ]] || return 0
    local pid
    pid=$(cat "$1")
    kill "$pid" 2> /dev/null || return 0
    for _ in $(seq 100); do kill -0 "$pid" 2> /dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2> /dev/null || true
}

stop() {
    if [[ -f $dir/slurm.conf ]]; then
        SLURM_CONF=$dir/slurm.conf scancel --full --quiet -u "$(id -un)" 2> /dev/null || true
    fi
    stop_pid "$dir/slurmd.pid"
    stop_pid "$dir/slurmctld.pid"
    stop_pid "$dir/munge/munged.pid"
}

case $cmd in
    start) start ;;
    stop) stop ;;
    *) usage ;;
esac
