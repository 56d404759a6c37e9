#!/usr/bin/env bash
# A real single-node SLURM cluster for the tests, with job accounting (slurmdbd on MariaDB) so
# that the executor plugin's default status path, `sacct`, works as on a site.
#
#   tests/cluster/slurm.sh start STATE_DIR   install the packages if missing, write the configs,
#                                            start munged, MariaDB, slurmdbd, slurmctld, slurmd
#   tests/cluster/slurm.sh stop STATE_DIR    stop exactly the daemons that `start` started
#
# Needs root and Debian's apt (slurm-wlm 22.05). No systemd and no cgroups: processes are
# tracked through /proc (proctrack/linuxproc, task/none). Everything the cluster writes lives
# in STATE_DIR, nothing in /etc. Clients find the cluster through SLURM_CONF, which
# STATE_DIR/env exports (`source STATE_DIR/env`, then sinfo, sbatch, sacct, snakemake), and
# through the symlink /run/slurm/conf -> STATE_DIR/etc, where Slurm clients look when
# /etc/slurm/slurm.conf is absent: the plugin's job steps call srun with SLURM_* variables
# removed, SLURM_CONF included. `stop` removes the symlink. The daemons listen on 127.0.0.1
# only, on free ports chosen at start, so a MariaDB on the same machine is left alone.
#
# STATE_DIR/pids lists "name pid start_time" per daemon; `stop` kills only a process whose
# pid and kernel start time both match, so a pid reused since then is never touched.
set -euo pipefail

packages=(slurm-wlm slurmdbd munge mariadb-server)
cluster_name=valuetrace-test
# Stand-in GPUs: the node advertises two GPUs whose device files are copies of /dev/null, so
# jobs that request GPUs (--gpus=1) are scheduled, given CUDA_VISIBLE_DEVICES and accounted
# exactly as on a GPU site, while their programs find no CUDA device and compute on the CPU.
# (Slurm drops a GPU without a device file, and logs an error for a file that is not one.)
fake_gpus=2

usage() {
    echo "usage: $0 start|stop STATE_DIR" >&2
    exit 2
}

log() { echo "slurm.sh: $*"; }

die() {
    echo "slurm.sh: $*" >&2
    exit 1
}

# Fields of /proc/PID/stat after the command name (which may contain spaces): state is the
# 1st, start time (in clock ticks since boot) the 20th.
stat_field() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f"$2"; }
start_time() { stat_field "$1" 20; }

# Whether the process recorded as "pid start_time" still runs: a zombie has exited (its
# parent, init since this script ended, has not reaped it yet) and a different start time
# means the pid now belongs to another process.
running() { [[ $(start_time "$1") == "$2" && $(stat_field "$1" 1) != Z ]]; }

# Starts a daemon in the foreground mode of its own, detached from the caller's terminal
# session, and records its pid. setsid replaces itself with the command (no fork: a
# background job of a non-interactive shell is not a process group leader), so $! is the
# daemon's own pid.
launch() {
    local name=$1
    shift
    setsid "$@" >"$state/log/$name.out" 2>&1 </dev/null &
    local pid=$!
    echo "$name $pid $(start_time "$pid")" >>"$state/pids"
    log "started $name (pid $pid)"
}

# Waits until "$@" succeeds, or fails naming what it waited for and where the logs are. Fails
# at once when the daemon that should answer (by its name in the pid file) has exited.
wait_for() {
    local what=$1 name=$2 timeout=$3
    shift 3
    local pid started
    read -r _ pid started < <(grep "^$name " "$state/pids")
    local deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        running "$pid" "$started" || die "$name exited; see $state/log/$name.out and $state/log/"
        ((SECONDS < deadline)) || die "$what not ready after ${timeout}s; see $state/log/"
        sleep 0.2
    done
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Four consecutive free ports: slurmctld, slurmd, slurmdbd, MariaDB.
choose_ports() {
    local tries base port
    for ((tries = 0; tries < 20; tries++)); do
        base=$((20000 + RANDOM % 30000))
        for port in $base $((base + 1)) $((base + 2)) $((base + 3)); do
            port_in_use "$port" && continue 2
        done
        ctld_port=$base slurmd_port=$((base + 1)) dbd_port=$((base + 2)) db_port=$((base + 3))
        return
    done
    die "no four consecutive free ports found"
}

install_packages() {
    local missing=()
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null || missing+=(slurm-wlm)
    command -v slurmdbd >/dev/null || missing+=(slurmdbd)
    command -v munged >/dev/null || missing+=(munge)
    command -v mariadbd >/dev/null || missing+=(mariadb-server)
    if ((${#missing[@]} == 0)); then
        log "packages already installed: ${packages[*]}"
        return
    fi
    local began=$SECONDS
    log "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$state/log/apt.out" 2>&1 ||
        die "apt-get install failed; see $state/log/apt.out"
    log "installed ${missing[*]} in $((SECONDS - began))s"
}

# Half of the memory available now: the node must not claim more than the machine has, and
# other processes keep the rest.
node_memory_mb() { awk '/^MemAvailable:/ { print int($2 / 1024 / 2) }' /proc/meminfo; }

write_configs() {
    local node=$1 memory_mb=$2
    mkdir -p "$state/etc" "$state/munge" "$state/mysql" "$state/slurm/ctld" "$state/slurm/d"
    # munged insists that everyone may traverse its socket's directory.
    chown munge:munge "$state/munge"
    chown slurm:slurm "$state/slurm/ctld"

    dd if=/dev/urandom of="$state/munge/munge.key" bs=1024 count=1 status=none
    chown munge:munge "$state/munge/munge.key"
    chmod 400 "$state/munge/munge.key"

    db_password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')

    cat >"$state/etc/slurm.conf" <<EOF
ClusterName=$cluster_name
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$state/munge/munge.socket
StateSaveLocation=$state/slurm/ctld
SlurmdSpoolDir=$state/slurm/d
SlurmctldPidFile=$state/slurm/slurmctld.pid
SlurmdPidFile=$state/slurm/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
ReturnToService=2
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$dbd_port
# For slurmdbd this is not a password but the munge socket its messages are signed with.
AccountingStoragePass=$state/munge/munge.socket
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/none
GresTypes=gpu
NodeName=$node NodeAddr=127.0.0.1 CPUs=2 RealMemory=$memory_mb Gres=gpu:$fake_gpus State=UNKNOWN
PartitionName=main Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
    mkdir -p "$state/gpu"
    local gpu
    for ((gpu = 0; gpu < fake_gpus; gpu++)); do
        mknod "$state/gpu/fake$gpu" c 1 3 || die "cannot create device files (mknod) in $state"
    done
    cat >"$state/etc/gres.conf" <<EOF
AutoDetect=off
NodeName=$node Name=gpu File=$state/gpu/fake[0-$((fake_gpus - 1))]
EOF
    cat >"$state/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$state/munge/munge.socket
DbdHost=$node
DbdAddr=127.0.0.1
DbdPort=$dbd_port
SlurmUser=slurm
LogFile=$state/log/slurmdbd.log
PidFile=$state/slurm/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$db_port
StorageUser=slurm
StoragePass=$db_password
StorageLoc=slurm_acct_db
EOF
    # slurmdbd refuses a config that holds a password unless only SlurmUser can read it.
    chown slurm:slurm "$state/etc/slurmdbd.conf"
    chmod 600 "$state/etc/slurmdbd.conf"
    echo "export SLURM_CONF=$state/etc/slurm.conf" >"$state/env"
}

start_mariadb() {
    mariadb-install-db --no-defaults --user=mysql --datadir="$state/mysql/data" \
        --auth-root-authentication-method=socket --skip-test-db >"$state/log/mariadb-install.out" 2>&1 ||
        die "mariadb-install-db failed; see $state/log/mariadb-install.out"
    chown mysql:mysql "$state/mysql"
    launch mariadbd mariadbd --no-defaults --user=mysql --datadir="$state/mysql/data" \
        --socket="$state/mysql/mysqld.sock" --bind-address=127.0.0.1 --port="$db_port" \
        --pid-file="$state/mysql/mariadbd.pid" --log-error="$state/log/mariadbd.log"
    wait_for MariaDB mariadbd 60 mariadb-admin --no-defaults --socket="$state/mysql/mysqld.sock" ping
    mariadb --no-defaults --socket="$state/mysql/mysqld.sock" -u root <<EOF
CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$db_password';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
EOF
}

cluster_ready() {
    [[ $(sinfo --noheader --Node --format=%T) == idle ]] &&
        sacctmgr --noheader --parsable2 list cluster format=cluster | grep -qx "$cluster_name"
}

start() {
    [[ $(id -u) == 0 ]] || die "must run as root (it installs packages and starts daemons)"
    command -v apt-get >/dev/null || die "needs apt-get (Debian or Ubuntu) to install SLURM"
    [[ -e $state && -n $(ls -A "$state" 2>/dev/null) ]] && die "$state is not empty"
    # Job steps would read these instead of this cluster's configuration (see the top).
    [[ -e /etc/slurm/slurm.conf ]] && die "/etc/slurm/slurm.conf exists: this machine belongs to another SLURM cluster"
    [[ -e /run/slurm/conf ]] && die "/run/slurm/conf exists: another SLURM configuration is in use here"
    mkdir -p "$state/log"
    # The daemons run as the munge, mysql and slurm users and must reach their files here.
    chmod 755 "$state"
    local began=$SECONDS

    install_packages
    choose_ports
    local node
    node=$(hostname -s)
    write_configs "$node" "$(node_memory_mb)"
    export SLURM_CONF=$state/etc/slurm.conf
    : >"$state/pids"
    # A failed start leaves nothing running.
    trap 'log "start failed; stopping the daemons it started"; stop' EXIT
    mkdir -p /run/slurm
    ln -sfn "$state/etc" /run/slurm/conf

    launch munged setpriv --reuid=munge --regid=munge --init-groups \
        munged --foreground --socket="$state/munge/munge.socket" --key-file="$state/munge/munge.key" \
        --pid-file="$state/munge/munged.pid" --seed-file="$state/munge/munged.seed" \
        --log-file="$state/munge/munged.log"
    wait_for munged munged 30 test -S "$state/munge/munge.socket"
    start_mariadb
    launch slurmdbd slurmdbd -D
    wait_for slurmdbd slurmdbd 60 port_in_use "$dbd_port"
    launch slurmctld slurmctld -D -f "$SLURM_CONF"
    launch slurmd slurmd -D -f "$SLURM_CONF" -N "$node"
    wait_for "node $node idle and cluster $cluster_name registered in slurmdbd" slurmctld 90 cluster_ready
    log "cluster $cluster_name up in $((SECONDS - began))s: node $node, 2 CPUs, $fake_gpus stand-in GPUs"
    log "clients: source $state/env"
    trap - EXIT
}

stop() {
    [[ -f $state/pids ]] || die "$state/pids not found: nothing was started there"
    local name pid started deadline
    # One at a time in reverse start order: slurmd first, munged (which signs every message
    # between the others, slurmctld's last words to slurmdbd included) last.
    while read -r name pid started; do
        if ! running "$pid" "$started"; then
            log "$name (pid $pid) had already exited"
            continue
        fi
        kill -TERM "$pid" 2>/dev/null || true # it may exit between the check and the signal
        deadline=$((SECONDS + 30))
        while running "$pid" "$started"; do
            if ((SECONDS >= deadline)); then
                log "$name (pid $pid) ignored SIGTERM for 30s; sending SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
                deadline=$((SECONDS + 10))
            fi
            sleep 0.2
        done
        log "stopped $name (pid $pid)"
    done < <(tac "$state/pids")
    if [[ $(readlink /run/slurm/conf) == "$state/etc" ]]; then
        rm /run/slurm/conf
    fi
}

[[ $# == 2 ]] || usage
state=$(realpath -m "$2")
case $1 in
start) start ;;
stop) stop ;;
*) usage ;;
esac
