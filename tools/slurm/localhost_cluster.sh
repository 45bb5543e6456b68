#!/usr/bin/env bash
# One-node SLURM cluster on localhost for CI: munged + private MariaDB +
# slurmdbd + slurmctld + slurmd, all started directly (no systemd), so that
# workflows can be run through the Snakemake SLURM executor and checked with
# `sacct` afterwards.
#
#   tools/slurm/localhost_cluster.sh start|stop|status
#
# Environment overrides:
#   MIXLAB_SLURM_BASE     state/spool/log/db directory (default /var/tmp/mixlab-slurm-ci)
#   MIXLAB_SLURM_CLUSTER  ClusterName (default mixlab-ci)
#   MIXLAB_SLURM_ACCOUNT  account created for root and the invoking user (default ci)
#   MIXLAB_SLURM_DB_PORT  TCP port of the private MariaDB (default 13306)
#   MIXLAB_SLURM_TIMEOUT  seconds to wait for each daemon (default 90)
#
# Why slurmdbd + MariaDB: Debian 12 ships Slurm 22.05, whose `sacct` refuses
# to run with AccountingStorageType=accounting_storage/none ("Slurm accounting
# storage is disabled"); it never falls back to asking slurmctld. slurmdbd only
# supports a MySQL/MariaDB backend, so a small private MariaDB instance is the
# lightest way to get real `sacct` output.
set -euo pipefail

BASE=${MIXLAB_SLURM_BASE:-/var/tmp/mixlab-slurm-ci}
CLUSTER=${MIXLAB_SLURM_CLUSTER:-mixlab-ci}
ACCOUNT=${MIXLAB_SLURM_ACCOUNT:-ci}
DB_PORT=${MIXLAB_SLURM_DB_PORT:-13306}
TIMEOUT=${MIXLAB_SLURM_TIMEOUT:-90}
PARTITION=debug
# Default config locations of the Debian/Ubuntu builds: clients (sbatch,
# sacct, the Snakemake plugin) find them without SLURM_CONF being exported.
CONF_DIR=/etc/slurm
SLURM_CONF_FILE=$CONF_DIR/slurm.conf
DBD_CONF_FILE=$CONF_DIR/slurmdbd.conf
MARKER="# managed by tools/slurm/localhost_cluster.sh"
STATE_FILE=$BASE/started.pids
LOG=$BASE/log
RUN=$BASE/run
DB_SOCK=$RUN/mariadb.sock
NODE=$(hostname -s)

say() { echo "[slurm] $*"; }
die() { echo "[slurm] ERROR: $*" >&2; exit 1; }

if [[ $(id -u) -eq 0 ]]; then
    as_root() { "$@"; }
    as_user() { local u=$1; shift; runuser -u "$u" -- "$@"; }
else
    command -v sudo >/dev/null || die "not root and sudo is not available"
    as_root() { sudo -n "$@"; }
    as_user() { local u=$1; shift; sudo -n -u "$u" -- "$@"; }
fi
# The user whose jobs the test submits; gets an association so the Snakemake
# plugin can guess/validate the account instead of warning.
INVOKING_USER=${SUDO_USER:-$(id -un)}

# --- process bookkeeping ----------------------------------------------------

# A pid is only "ours" if it is alive *and* still runs the expected binary,
# so a recycled pid can never make `stop` kill an unrelated process.
pid_is() {
    local pid=$1 name=$2
    [[ -n $pid && -r /proc/$pid/comm ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]]
}

recorded_pid() {
    [[ -f $STATE_FILE ]] || return 0
    awk -v n="$1" '$1 == n { p = $2 } END { if (p) print p }' "$STATE_FILE"
}

record_pid() {
    as_root sh -c "grep -v '^$1 ' '$STATE_FILE' 2>/dev/null > '$STATE_FILE.tmp' || true
                   echo '$1 $2' >> '$STATE_FILE.tmp'; mv '$STATE_FILE.tmp' '$STATE_FILE'"
}

# Run a self-daemonising command and record the pid it writes.
spawn() {  # spawn <name> <pidfile> <command...>
    local name=$1 pidfile=$2 pid
    shift 2
    as_root rm -f "$pidfile"
    "$@" || { dump_logs; die "$name failed to start"; }
    pid=$(read_pidfile "$pidfile") || { dump_logs; die "$name wrote no pid file ($pidfile)"; }
    record_pid "$name" "$pid"
}

ours_running() { pid_is "$(recorded_pid "$1")" "$1"; }

# Any instance of a daemon, whoever started it (pgrep -x matches comm only).
any_running() { pgrep -x "$1" >/dev/null 2>&1; }

read_pidfile() {
    local f=$1 i
    for ((i = 0; i < 50; i++)); do
        if as_root test -s "$f"; then as_root cat "$f"; return 0; fi
        sleep 0.2
    done
    return 1
}

wait_for() {  # wait_for <description> <command...>
    local what=$1; shift
    local deadline=$((SECONDS + TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            echo "[slurm] ERROR: timed out after ${TIMEOUT}s waiting for $what" >&2
            dump_logs
            exit 1
        fi
        sleep 1
    done
}

dump_logs() {
    local f
    for f in "$LOG"/*.log /var/log/munge/munged.log; do
        as_root test -s "$f" || continue
        echo "----- tail $f -----" >&2
        as_root tail -n 40 "$f" >&2 || true
    done
}

# --- installation -------------------------------------------------------------

# mariadb-*-core instead of mariadb-server: we run a private instance anyway,
# and the core packages skip galera/perl/init scripts (much smaller install).
PACKAGES=(munge slurm-client slurmctld slurmd slurmdbd mariadb-server-core mariadb-client-core)

ensure_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    say "installing: ${missing[*]}"
    # Without a policy-rc.d, postinst scripts would start munge/slurm/mariadb
    # via init scripts; those would then not be ours to stop (and slurmctld
    # would fail without a config). Deny service starts for this install only.
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if ! as_root test -e "$policy"; then
        as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
        added_policy=1
    fi
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends)
    local rc=0
    as_root "${apt[@]}" "${missing[@]}" >"/tmp/mixlab-slurm-apt.log" 2>&1 || rc=$?
    if ((rc != 0)); then
        say "apt-get install failed (rc=$rc); running apt-get update and retrying"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"/tmp/mixlab-slurm-apt.log" 2>&1 || true
        rc=0
        as_root "${apt[@]}" "${missing[@]}" >>"/tmp/mixlab-slurm-apt.log" 2>&1 || rc=$?
    fi
    ((added_policy)) && as_root rm -f "$policy"
    if ((rc != 0)); then
        tail -n 30 /tmp/mixlab-slurm-apt.log >&2
        die "apt-get install failed"
    fi
}

# --- configuration ------------------------------------------------------------

prepare_dirs() {
    as_root mkdir -p "$BASE" "$LOG" "$RUN" "$BASE/ctld-state" "$BASE/slurmd-spool" "$CONF_DIR"
    as_root chmod 755 "$BASE" "$RUN"
    # slurmctld/slurmdbd drop to SlurmUser; slurmd stays root.
    as_root chown slurm:slurm "$LOG" "$RUN" "$BASE/ctld-state"
    as_root chmod 755 "$LOG"
}

write_file_if_changed() {  # write_file_if_changed <path> <mode> <owner>  (content on stdin)
    local path=$1 mode=$2 owner=$3 tmp
    tmp=$(mktemp)
    cat >"$tmp"
    if as_root test -f "$path" && ! as_root grep -qF "$MARKER" "$path"; then
        # Never silently clobber a hand-written config.
        say "backing up existing $path to $path.bak"
        as_root cp -p "$path" "$path.bak"
    fi
    if ! as_root cmp -s "$tmp" "$path" 2>/dev/null; then
        as_root install -m "$mode" -o "${owner%:*}" -g "${owner#*:}" "$tmp" "$path"
    fi
    rm -f "$tmp"
}

write_configs() {
    # Node geometry from slurmd itself so the node never registers with fewer
    # resources than configured (that would put it in INVALID/DRAIN).
    local hw cpus boards sockets cores threads mem realmem
    hw=$(slurmd -C | head -n 1)
    field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$hw"; }
    cpus=$(field CPUs); boards=$(field Boards); sockets=$(field SocketsPerBoard)
    cores=$(field CoresPerSocket); threads=$(field ThreadsPerCore); mem=$(field RealMemory)
    # Leave headroom: a node reporting less memory than configured is drained.
    realmem=$((mem - mem / 20 - 256))
    ((realmem > 256)) || realmem=$mem

    write_file_if_changed "$SLURM_CONF_FILE" 644 root:root <<EOF
$MARKER
ClusterName=$CLUSTER
# Explicit address: container hostnames do not always resolve.
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
# Also the delay before a requeued job may start again (default 120s).
AuthInfo=cred_expire=30
StateSaveLocation=$BASE/ctld-state
SlurmdSpoolDir=$BASE/slurmd-spool
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups/systemd in a container: plain /proc process tracking, no binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
MpiDefault=none
# Per-core/per-memory scheduling so several 1-CPU jobs share the node; a small
# default memory keeps jobs without --mem from claiming the whole node.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
SchedulerType=sched/backfill
# Jobs that become eligible later (requeued, --begin) are only picked up by the
# periodic passes; the defaults (60s/30s) would make CI tests wait.
SchedulerParameters=sched_interval=10,bf_interval=10
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
# the Snakemake plugin puts rule_<name>_wildcards_... into --comment: keep it for sacct
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
# Keep finished jobs visible to squeue/scontrol for the whole test run too.
MinJobAge=3600
JobRequeue=1
# A node that was down when the cluster stopped comes back on registration.
ReturnToService=2
SlurmdTimeout=300
KillWait=5
InactiveLimit=0
MailProg=/bin/true
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus Boards=$boards SocketsPerBoard=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=$realmem State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

    # slurmdbd refuses to start unless its config is 0600 and owned by SlurmUser.
    write_file_if_changed "$DBD_CONF_FILE" 600 slurm:slurm <<EOF
$MARKER
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=slurm
PidFile=$RUN/slurmdbd.pid
LogFile=$LOG/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurm-ci
StorageLoc=slurm_acct_db
EOF
}

# --- daemons --------------------------------------------------------------------

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
    if munge_ok; then
        if ours_running munged; then
            say "munged already running (ours)"
        else
            say "munged already running (not ours, left alone)"
        fi
        return 0
    fi
    if ! as_root test -s /etc/munge/munge.key; then
        say "creating munge key"
        as_root mkdir -p /etc/munge
        as_root sh -c 'if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key;
                       else dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null; fi'
    fi
    # munged insists on these owners/modes and will not run as root.
    as_root chown -R munge:munge /etc/munge
    as_root chmod 700 /etc/munge
    as_root chmod 400 /etc/munge/munge.key
    as_root mkdir -p /run/munge /var/lib/munge /var/log/munge
    as_root chown munge:munge /run/munge /var/lib/munge /var/log/munge
    as_root chmod 755 /run/munge
    as_root chmod 700 /var/lib/munge /var/log/munge
    say "starting munged"
    # --force: a stale socket left by a killed munged would otherwise block it.
    spawn munged /run/munge/munged.pid as_user munge /usr/sbin/munged --force
    wait_for "munged" munge_ok
}

db_ok() { as_root mariadb --no-defaults -S "$DB_SOCK" -u root -e 'SELECT 1'; }

start_mariadb() {
    if ours_running mariadbd && db_ok >/dev/null 2>&1; then
        say "mariadb already running (ours)"
        return 0
    fi
    local datadir=$BASE/mariadb
    if ! as_root test -d "$datadir/mysql"; then
        say "initialising private MariaDB in $datadir"
        as_root mkdir -p "$datadir"
        as_root chown slurm:slurm "$datadir"
        as_root mariadb-install-db --no-defaults --datadir="$datadir" --user=slurm \
            --auth-root-authentication-method=socket --skip-test-db --skip-name-resolve \
            >"$LOG/mariadb-install.log" 2>&1 || { as_root tail -n 30 "$LOG/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
    fi
    as_root rm -f "$RUN/mariadb.pid"
    say "starting mariadb on 127.0.0.1:$DB_PORT"
    # Private instance on its own port/socket (runs as the slurm user), so it
    # never clashes with a system MySQL/MariaDB. Small buffers: a CI job history
    # is tiny; lock timeout as recommended by the slurmdbd docs.
    as_root setsid /usr/sbin/mariadbd --no-defaults --user=slurm --datadir="$datadir" \
        --socket="$DB_SOCK" --port="$DB_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
        --pid-file="$RUN/mariadb.pid" --log-error="$LOG/mariadb.log" \
        --innodb-buffer-pool-size=64M --innodb-log-file-size=64M --innodb-lock-wait-timeout=900 \
        --performance-schema=OFF </dev/null >/dev/null 2>&1 &
    wait_for "mariadb" db_ok
    local pid
    pid=$(read_pidfile "$RUN/mariadb.pid") || die "mariadb wrote no pid file"
    record_pid mariadbd "$pid"
    as_root mariadb --no-defaults -S "$DB_SOCK" -u root -e "
        CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm-ci';
        CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm-ci';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
}

dbd_ok() { as_root sacctmgr -n -P list cluster format=cluster; }

start_slurmdbd() {
    if ours_running slurmdbd; then
        say "slurmdbd already running (ours)"
    elif any_running slurmdbd; then
        say "slurmdbd already running (not ours, left alone)"
    else
        say "starting slurmdbd"
        spawn slurmdbd "$RUN/slurmdbd.pid" as_root /usr/sbin/slurmdbd
    fi
    # First start creates the schema, which takes a few seconds.
    wait_for "slurmdbd" dbd_ok
    if ! dbd_ok | grep -qx "$CLUSTER"; then
        say "registering cluster $CLUSTER"
        as_root sacctmgr -i add cluster "$CLUSTER" >/dev/null
    fi
}

register_users() {
    local users=root
    [[ $INVOKING_USER != root ]] && users+=",$INVOKING_USER"
    if ! as_root sacctmgr -n -P list account "$ACCOUNT" format=account | grep -qx "$ACCOUNT"; then
        as_root sacctmgr -i add account "$ACCOUNT" cluster="$CLUSTER" description=ci organization=ci >/dev/null
    fi
    # `add user` fails for users that already exist; that is fine.
    as_root sacctmgr -i add user "$users" account="$ACCOUNT" defaultaccount="$ACCOUNT" cluster="$CLUSTER" >/dev/null 2>&1 || true
}

start_slurm_daemon() {  # start_slurm_daemon <slurmctld|slurmd>
    local name=$1
    if ours_running "$name"; then
        say "$name already running (ours)"
    elif any_running "$name"; then
        say "$name already running (not ours, left alone)"
    else
        say "starting $name"
        spawn "$name" "$RUN/$name.pid" as_root "/usr/sbin/$name"
    fi
}

node_state() { sinfo -h -N -n "$NODE" -o '%T' 2>/dev/null | head -n 1; }

node_usable() { [[ $(node_state) =~ ^(idle|mixed|allocated|completing)$ ]]; }

wait_node_idle() {
    local deadline=$((SECONDS + TIMEOUT)) st resumed=0
    while :; do
        st=$(node_state || true)
        [[ $st == idle ]] && return 0
        # State saved from an earlier unclean run can leave the node down/drained.
        if [[ $st =~ ^(down|drain|drained|draining) ]] && ((resumed == 0)) && any_running slurmd; then
            as_root scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
            resumed=1
        fi
        if ((SECONDS >= deadline)); then
            echo "[slurm] ERROR: node $NODE not idle after ${TIMEOUT}s (state: ${st:-unknown})" >&2
            sinfo -N -l >&2 || true
            dump_logs
            exit 1
        fi
        sleep 1
    done
}

cluster_up() {
    scontrol ping 2>/dev/null | grep -q UP && node_usable && sacct -n -X -o JobID >/dev/null 2>&1
}

# --- subcommands ------------------------------------------------------------------

cmd_start() {
    local t0=$SECONDS
    if cluster_up; then
        say "cluster already up"
        return 0
    fi
    ensure_packages
    prepare_dirs
    if (any_running slurmctld && ! ours_running slurmctld) || (any_running slurmd && ! ours_running slurmd); then
        say "foreign slurm daemons are running; not rewriting $SLURM_CONF_FILE"
    else
        write_configs
    fi
    start_munge
    start_mariadb
    start_slurmdbd
    start_slurm_daemon slurmctld
    wait_for "slurmctld" sh -c 'scontrol ping | grep -q UP'
    register_users
    start_slurm_daemon slurmd
    wait_node_idle
    wait_for "sacct" sacct -n -X -o JobID
    say "cluster $CLUSTER up in $((SECONDS - t0))s (node $NODE, partition $PARTITION, account $ACCOUNT)"
}

signal_and_wait() {  # signal_and_wait <pid> <name> <signal> <tenths of a second>: 0 once it is gone
    local pid=$1 name=$2 i
    as_root kill -"$3" "$pid" 2>/dev/null || true
    for ((i = 0; i < $4; i++)); do
        pid_is "$pid" "$name" || return 0
        sleep 0.1
    done
    return 1
}

stop_one() {  # stop_one <name>
    local name=$1 pid
    pid=$(recorded_pid "$name")
    if ! pid_is "$pid" "$name"; then
        return 0
    fi
    say "stopping $name (pid $pid)"
    signal_and_wait "$pid" "$name" TERM 300 && return 0
    say "$name did not exit after 30s, sending SIGKILL"
    signal_and_wait "$pid" "$name" KILL 50 && return 0
    die "$name (pid $pid) is still running"
}

cmd_stop() {
    if [[ ! -f $STATE_FILE ]]; then
        say "nothing to stop (no $STATE_FILE)"
        return 0
    fi
    # Cancel leftover jobs so no slurmstepd/job processes outlive slurmd.
    if ours_running slurmctld; then
        local jobs
        jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ' || true)
        if [[ -n ${jobs// /} ]]; then
            say "cancelling jobs: $jobs"
            # shellcheck disable=SC2086
            as_root scancel $jobs 2>/dev/null || true
            sleep 2
        fi
    fi
    local name
    for name in slurmd slurmctld slurmdbd mariadbd munged; do
        stop_one "$name"
    done
    as_root rm -f "$STATE_FILE"
    say "stopped"
}

cmd_status() {
    local rc=0
    if cluster_up; then
        say "cluster up"
    else
        say "cluster NOT up"
        rc=1
    fi
    sinfo 2>&1 || rc=1
    squeue 2>&1 || rc=1
    return "$rc"
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
