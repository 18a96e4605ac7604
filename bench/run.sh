#!/usr/bin/env bash
# Omoikane vs Postfix (and smtp-sink as the ceiling), side by side, in one interleaved run.
#
#   bench/run.sh [--postfix-only] [--rounds R] [--quick] [--only smtp,idle,relay,pop3]
#
# Sets up, in a fresh temporary directory: a private Postfix instance (virtual delivery
# to Maildir, loopback port 25251), smtp-sink on 25252 (ceiling) and 25253 (relay target),
# Omoikane on 25250 (SMTP) / 11000 (POP3), Dovecot pop3 on 11001. Then, for each
# configuration, runs Postfix, Omoikane and the sink alternately for R rounds and prints
# medians. Needs root (Postfix and Dovecot instances), dotnet, postfix, dovecot-pop3d.
# Nothing outside the temporary directory and bench/out is changed; the system's own
# Postfix and Dovecot are neither started nor touched.
set -euo pipefail

# ---------------------------------------------------------------- options
ROUNDS=3
POSTFIX_ONLY=0
QUICK=0
ONLY="smtp,idle,relay,pop3"
IDLE_CONNS=1000
while [ $# -gt 0 ]; do
    case "$1" in
        --postfix-only) POSTFIX_ONLY=1 ;;
        --rounds) ROUNDS="$2"; shift ;;
        --quick) QUICK=1 ;;
        --only) ONLY="$2"; shift ;;
        --idle) IDLE_CONNS="$2"; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ "$ROUNDS" -ge 1 ] 2>/dev/null || { echo "run.sh: --rounds must be >= 1" >&2; exit 2; }
want() { [[ ",$ONLY," == *",$1,"* ]]; }

# Messages per run: enough for a few seconds of work on a small machine.
N_SMALL=3000      # 1 KiB messages
N_LARGE=600       # 100 KiB messages
N_RELAY=2000
POP3_MSGS=5000
POP3_SIZE=10240
if [ "$QUICK" = 1 ]; then N_SMALL=600; N_LARGE=120; N_RELAY=400; POP3_MSGS=1000; fi

# Ports (loopback only).
P_OMO=25250; P_PF=25251; P_SINK=25252; P_RELAYSINK=25253; P_OMO_POP=11000; P_DOVE_POP=11001
RCPT=u1@bench.test
POP_PW=bench-password

# ---------------------------------------------------------------- paths
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH_DIR/.." && pwd)"
OUT="$BENCH_DIR/out"
STATE="$OUT/last-run.state"          # where a previous run left its temp dir and pids
mkdir -p "$OUT"

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (private Postfix and Dovecot instances need it)"
for tool in dotnet postfix postconf smtp-sink smtp-source ss; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install postfix dotnet-sdk-10.0 iproute2)"
done
ulimit -n 65536 2>/dev/null || ulimit -n 8192 || true

# ---------------------------------------------------------------- clean start
# Stop whatever a previous (interrupted) run left behind: only the processes it recorded.
stop_previous() {
    [ -f "$STATE" ] || return 0
    local old_work pids
    old_work=$(sed -n 's/^work=//p' "$STATE")
    pids=$(sed -n 's/^pid=//p' "$STATE")
    if [ -n "$old_work" ] && [ -f "$old_work/postfix/etc/main.cf" ]; then
        postfix -c "$old_work/postfix/etc" stop >/dev/null 2>&1 || true
    fi
    if [ -n "$old_work" ] && [ -f "$old_work/dovecot/dovecot.conf" ]; then
        doveadm -c "$old_work/dovecot/dovecot.conf" stop >/dev/null 2>&1 || true
    fi
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    sleep 1
    for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
    [ -n "$old_work" ] && [[ "$old_work" == */omoikane-bench.* ]] && rm -rf "$old_work"
    rm -f "$STATE"
}
stop_previous

port_busy() { ss -Hltn "sport = :$1" | grep -q .; }
for p in $P_OMO $P_PF $P_SINK $P_RELAYSINK $P_OMO_POP $P_DOVE_POP; do
    port_busy "$p" && die "port 127.0.0.1:$p is already in use; stop whatever listens there"
done

WORK="$(mktemp -d -t omoikane-bench.XXXXXX)"
chmod 755 "$WORK"                     # Postfix's and Dovecot's unprivileged users traverse it
echo "work=$WORK" > "$STATE"
record_pid() { echo "pid=$1" >> "$STATE"; }
RESULTS="$OUT/results-$(date +%Y%m%d-%H%M%S).txt"
: > "$RESULTS"
log "work directory $WORK; raw results in ${RESULTS#$REPO/}"

cleanup() {
    set +e
    [ -n "${IDLE_PID:-}" ] && kill "$IDLE_PID" 2>/dev/null
    [ -n "${OMO_PID:-}" ] && kill "$OMO_PID" 2>/dev/null
    [ -n "${SINK_PID:-}" ] && kill "$SINK_PID" 2>/dev/null
    [ -n "${RELAYSINK_PID:-}" ] && kill "$RELAYSINK_PID" 2>/dev/null
    [ -f "$WORK/postfix/etc/main.cf" ] && postfix -c "$WORK/postfix/etc" stop >/dev/null 2>&1
    [ -f "$WORK/dovecot/dovecot.conf" ] && doveadm -c "$WORK/dovecot/dovecot.conf" stop >/dev/null 2>&1
    sleep 1
    [ -n "${OMO_PID:-}" ] && kill -9 "$OMO_PID" 2>/dev/null
    if [ "${KEEP_WORK:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    rm -f "$STATE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits up to $2 seconds for a listener on 127.0.0.1:$1.
wait_port() {
    local until=$((SECONDS + $2))
    while [ $SECONDS -lt $until ]; do port_busy "$1" && return 0; sleep 0.2; done
    port_busy "$1"
}

# ---------------------------------------------------------------- build
log "building the load generator"
dotnet build "$BENCH_DIR/Omoikane.Bench" -c Release -o "$OUT/bench" -nologo -v q >"$OUT/build-bench.log" 2>&1 \
    || die "load generator build failed; see bench/out/build-bench.log"
GEN="$OUT/bench/omoikane-bench"

OMO="$OUT/omoikane/omoikane"
if [ "$POSTFIX_ONLY" = 0 ]; then
    log "publishing Omoikane"
    if ! dotnet publish "$REPO/src/Omoikane" -c Release -o "$OUT/omoikane" -nologo -v q >"$OUT/build-omoikane.log" 2>&1 \
        || [ ! -x "$OMO" ]; then
        die "Omoikane did not build (see bench/out/build-omoikane.log); run with --postfix-only for the Postfix and smtp-sink figures alone"
    fi
fi

# ---------------------------------------------------------------- Postfix instance
PF="$WORK/postfix"; PF_ETC="$PF/etc"; PF_MAIL="$PF/mail"; PF_BOX="$PF_MAIL/bench.test/u1"
# Postfix sends its fatal messages to syslog unless stderr is a terminal: show them by
# running the failed command again under a pseudo-terminal.
postfix_why() {
    command -v script >/dev/null && script -qc "postfix -c $PF_ETC $1" /dev/null | tail -5 >&2
    return 0
}
setup_postfix() {
    mkdir -p "$PF_ETC" "$PF/spool" "$PF/data" "$PF_BOX"/{new,cur,tmp}
    chown -R nobody:nogroup "$PF_MAIL"
    chown postfix "$PF/data"
    # Stock defaults everywhere except what a loopback virtual-Maildir site needs. Durability
    # is Postfix's default (queue files and Maildir files fsynced).
    cat > "$PF_ETC/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/spool
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench-postfix.test
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps =
alias_database =
virtual_mailbox_domains = bench.test
virtual_mailbox_base = $PF_MAIL
virtual_mailbox_maps = texthash:$PF_ETC/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
transport_maps = texthash:$PF_ETC/transport
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
EOF
    echo "$RCPT bench.test/u1/" > "$PF_ETC/vmailbox"
    echo "relay.test smtp:[127.0.0.1]:$P_RELAYSINK" > "$PF_ETC/transport"
    # Debian's master.cf services, without chroot (the queue directory is a temp dir), and
    # smtpd's maxproc raised from default_process_limit (100) so it can hold the idle test.
    cat > "$PF_ETC/master.cf" <<EOF
127.0.0.1:$P_PF inet n - n - $((IDLE_CONNS + 100)) smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    postfix -c "$PF_ETC" check >"$PF/check.log" 2>&1 || { postfix_why check; die "postfix check failed"; }
    postfix -c "$PF_ETC" start >"$PF/start.log" 2>&1 || { postfix_why start; die "postfix did not start"; }
    wait_port $P_PF 30 || die "Postfix did not listen on 127.0.0.1:$P_PF (see $PF/maillog)"
    PF_MASTER=$(tr -d ' ' < "$PF/spool/pid/master.pid")
    log "Postfix $(postconf -d -h mail_version) listening on 127.0.0.1:$P_PF (master pid $PF_MASTER)"
}

# ---------------------------------------------------------------- smtp-sink
start_sinks() {
    # The ceiling: accepts everything, writes nothing. Backlog 1000.
    smtp-sink -u nobody 127.0.0.1:$P_SINK 1000 >/dev/null 2>&1 &
    SINK_PID=$!; record_pid $SINK_PID
    # The relay target, with running counters (-c) that the load generator reads.
    smtp-sink -c -u nobody 127.0.0.1:$P_RELAYSINK 1000 >"$WORK/relaysink.counter" 2>&1 &
    RELAYSINK_PID=$!; record_pid $RELAYSINK_PID
    wait_port $P_SINK 10 && wait_port $P_RELAYSINK 10 || die "smtp-sink did not start"
}

# ---------------------------------------------------------------- Omoikane
OC="$WORK/omoikane"; OC_DATA="$OC/data"; OMO_BOX="$OC_DATA/mail/bench.test/u1"
setup_omoikane() {
    mkdir -p "$OC/etc" "$OC_DATA"
    cat > "$OC/etc/main.cf" <<EOF
myhostname = bench-omoikane.test
mydestination = bench.test
data_directory = $OC_DATA
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_client_connection_count_limit = 0
transport_maps = texthash:$OC/etc/transport
# Loopback only: no client-name lookups (as Postfix answers 127.0.0.1 from /etc/hosts), and a
# resolver address on loopback so that nothing ever reaches a DNS server elsewhere.
smtpd_peername_lookup = no
dns_servers = 127.0.0.1:1
EOF
    echo "relay.test smtp:[127.0.0.1]:$P_RELAYSINK" > "$OC/etc/transport"
    cat > "$OC/etc/master.cf" <<EOF
127.0.0.1:$P_OMO     inet n - n - $((IDLE_CONNS + 100)) smtpd
127.0.0.1:$P_OMO_POP inet n - n - 100 pop3d
EOF
    echo "$POP_PW" | "$OMO" user add "$RCPT" --password-stdin --config "$OC/etc" >"$OC/user-add.log" 2>&1 \
        || die "'omoikane user add' failed: $(head -1 "$OC/user-add.log"); Omoikane is not usable yet, try --postfix-only"
    (cd "$OC" && exec "$OMO" serve --config "$OC/etc") >"$OC/serve.log" 2>&1 &
    OMO_PID=$!; record_pid $OMO_PID
    if ! wait_port $P_OMO 30; then
        tail -5 "$OC/serve.log" >&2
        die "'omoikane serve' did not listen on 127.0.0.1:$P_OMO within 30 s; Omoikane is not usable yet, try --postfix-only"
    fi
    mkdir -p "$OMO_BOX"
    log "Omoikane listening on 127.0.0.1:$P_OMO (pid $OMO_PID)"
}

# ---------------------------------------------------------------- helpers
# field KEY LINE: the value of KEY=... in a result line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s|^$1=||p" | head -1; }

# median of numbers on stdin ("NA" ignored; NA if none).
median() { { grep -E '^[0-9.]+$' || true; } | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "NA"; else if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }

empty_maildir() { find "$1/new" "$1/cur" -type f -delete 2>/dev/null || true; }

# Runs the generator; appends its result line to $RESULTS with a config tag; echoes it.
run_gen() {
    local tag="$1"; shift
    local line
    line=$("$GEN" "$@" 2>>"$WORK/gen-errors.log" | tail -1) || true
    [ -n "$line" ] || line="error target=? (see gen-errors.log)"
    echo "$tag $line" >> "$RESULTS"
    log "  $line"
    echo "$line"
}

# smtp-source against a server: prints msgs/s measured around the whole run.
run_smtp_source() {
    local tag="$1" port="$2" s="$3" n="$4" size="$5"
    local t0 t1 rate
    t0=$(date +%s.%N)
    if timeout 600 smtp-source -s "$s" -m "$n" -l "$size" -f bench@client.test -t "$RCPT" 127.0.0.1:"$port" >/dev/null 2>>"$WORK/gen-errors.log"; then
        t1=$(date +%s.%N)
        rate=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", n/(b-a)}')
    else
        rate=NA
    fi
    echo "$tag smtp-source target=sink-source S=$s size=$size sent=$n accepted/s=$rate" >> "$RESULTS"
    log "  smtp-source S=$s size=$size accepted/s=$rate"
}

# PSS / RSS in KiB of one process (0 if gone).
mem_of() { sum_mem "$2" "$1"; }
# sum_mem KEY "PID...": the sum of KEY (Rss, Pss, or a regex like Private_(Clean|Dirty))
# over the processes' smaps_rollup, in KiB.
sum_mem() {
    local files=() p
    for p in $2; do [ -r "/proc/$p/smaps_rollup" ] && files+=("/proc/$p/smaps_rollup"); done
    [ ${#files[@]} -gt 0 ] || { echo 0; return; }
    awk -v k="^$1:\$" '$1 ~ k {s += $2} END {print s + 0}' "${files[@]}" 2>/dev/null || echo 0
}
postfix_pids() { echo "$PF_MASTER $(pgrep -P "$PF_MASTER" || true)"; }
postfix_smtpd_pids() { pgrep -P "$PF_MASTER" -x smtpd || true; }

# Opens $IDLE_CONNS idle connections to port $2 and runs "$3" (a function) once they are
# all open. Prints nothing itself.
with_idle_connections() {
    local target="$1" port="$2" measure="$3"
    rm -f "$WORK/idle.ready"
    "$GEN" --target "$target" --port "$port" --idle "$IDLE_CONNS" --hold 900 --deadline 1200 --connect-parallel 16 \
        --ready-file "$WORK/idle.ready" >"$WORK/idle.$target.out" 2>>"$WORK/gen-errors.log" &
    IDLE_PID=$!; record_pid $IDLE_PID
    local until=$((SECONDS + 600))
    while [ $SECONDS -lt $until ] && [ ! -f "$WORK/idle.ready" ]; do sleep 0.2; done
    [ -f "$WORK/idle.ready" ] || log "  idle connections not all open after 600 s"
    sleep 3                                   # let the server settle
    local line; line=$(head -1 "$WORK/idle.$target.out")
    log "  $line"
    echo "idle $line" >> "$RESULTS"
    IDLE_OPEN=$(field open "$line"); IDLE_OPEN=${IDLE_OPEN:-0}
    $measure
    kill "$IDLE_PID" 2>/dev/null || true; wait "$IDLE_PID" 2>/dev/null || true; IDLE_PID=
    sleep 2
}

# ---------------------------------------------------------------- start everything
setup_postfix
start_sinks
[ "$POSTFIX_ONLY" = 0 ] && setup_omoikane

CONFIGS=()
for size in 1024 102400; do for s in 1 10 50; do CONFIGS+=("$s:$size"); done; done

# ---------------------------------------------------------------- SMTP intake + delivery
if want smtp; then
    # One untimed warm-up pass for each server (page cache, Postfix's processes, .NET's JIT).
    log "SMTP warm-up (untimed)"
    empty_maildir "$PF_BOX"
    run_gen "warmup" --target postfix --port $P_PF --sessions 10 --messages 500 --size 1024 \
        --rcpt "$RCPT" --maildir "$PF_BOX" >/dev/null || true
    if [ "$POSTFIX_ONLY" = 0 ]; then
        empty_maildir "$OMO_BOX"
        run_gen "warmup" --target omoikane --port $P_OMO --sessions 10 --messages 500 --size 1024 \
            --rcpt "$RCPT" --maildir "$OMO_BOX" >/dev/null || true
    fi
    for ((r = 1; r <= ROUNDS; r++)); do
        log "SMTP round $r/$ROUNDS"
        for cfg in "${CONFIGS[@]}"; do
            s=${cfg%%:*}; size=${cfg##*:}
            n=$N_SMALL; [ "$size" -gt 4096 ] && n=$N_LARGE
            tag="smtp S=$s size=$size round=$r"
            empty_maildir "$PF_BOX"
            run_gen "$tag" --target postfix --port $P_PF --sessions "$s" --messages "$n" --size "$size" \
                --rcpt "$RCPT" --maildir "$PF_BOX" >/dev/null
            if [ "$POSTFIX_ONLY" = 0 ]; then
                empty_maildir "$OMO_BOX"
                run_gen "$tag" --target omoikane --port $P_OMO --sessions "$s" --messages "$n" --size "$size" \
                    --rcpt "$RCPT" --maildir "$OMO_BOX" >/dev/null
            fi
            run_gen "$tag" --target sink --port $P_SINK --sessions "$s" --messages "$n" --size "$size" \
                --rcpt "$RCPT" >/dev/null
            run_smtp_source "$tag" $P_SINK "$s" "$n" "$size"
        done
    done
    empty_maildir "$PF_BOX"; [ "$POSTFIX_ONLY" = 0 ] && empty_maildir "$OMO_BOX"
fi

# ---------------------------------------------------------------- relay to smtp-sink
if want relay; then
    for ((r = 1; r <= ROUNDS; r++)); do
        log "relay round $r/$ROUNDS"
        tag="relay S=10 size=1024 round=$r"
        run_gen "$tag" --target postfix --port $P_PF --sessions 10 --messages $N_RELAY --size 1024 \
            --rcpt sink@relay.test --sink-counter "$WORK/relaysink.counter" >/dev/null
        if [ "$POSTFIX_ONLY" = 0 ]; then
            run_gen "$tag" --target omoikane --port $P_OMO --sessions 10 --messages $N_RELAY --size 1024 \
                --rcpt sink@relay.test --sink-counter "$WORK/relaysink.counter" >/dev/null
        fi
    done
fi

# ---------------------------------------------------------------- idle connections
PF_IDLE_KB=NA; PF_IDLE_USS_KB=NA; PF_IDLE_TOTAL_KB=NA; OMO_IDLE_KB=NA; OMO_IDLE_PSS_KB=NA
measure_postfix_idle() {
    local smtpd n pss uss total
    smtpd=$(postfix_smtpd_pids); n=$(wc -w <<<"$smtpd")
    pss=$(sum_mem Pss "$smtpd")
    uss=$(sum_mem 'Private_(Clean|Dirty)' "$smtpd")
    total=$(sum_mem Pss "$(postfix_pids)")
    log "  postfix: $n smtpd processes, smtpd PSS ${pss} KiB (private ${uss} KiB), instance PSS ${total} KiB (before: ${PF_BASE_TOTAL} KiB)"
    echo "idle-mem target=postfix smtpd_procs=$n smtpd_pss_kb=$pss smtpd_private_kb=$uss instance_pss_kb=$total instance_pss_before_kb=$PF_BASE_TOTAL open=$IDLE_OPEN" >> "$RESULTS"
    if [ "$IDLE_OPEN" -gt 0 ]; then
        PF_IDLE_KB=$(awk -v a="$pss" -v n="$IDLE_OPEN" 'BEGIN {printf "%.1f", a/n}')
        PF_IDLE_USS_KB=$(awk -v a="$uss" -v n="$IDLE_OPEN" 'BEGIN {printf "%.1f", a/n}')
        PF_IDLE_TOTAL_KB=$(awk -v a="$total" -v b="$PF_BASE_TOTAL" -v n="$IDLE_OPEN" 'BEGIN {printf "%.1f", (a-b)/n}')
    fi
}
measure_omoikane_idle() {
    local rss pss
    rss=$(mem_of "$OMO_PID" Rss); pss=$(mem_of "$OMO_PID" Pss)
    log "  omoikane: RSS ${rss} KiB (before ${OMO_BASE_RSS}), PSS ${pss} KiB (before ${OMO_BASE_PSS})"
    echo "idle-mem target=omoikane rss_kb=$rss rss_before_kb=$OMO_BASE_RSS pss_kb=$pss pss_before_kb=$OMO_BASE_PSS open=$IDLE_OPEN" >> "$RESULTS"
    if [ "$IDLE_OPEN" -gt 0 ]; then
        OMO_IDLE_KB=$(awk -v a="$rss" -v b="$OMO_BASE_RSS" -v n="$IDLE_OPEN" 'BEGIN {printf "%.1f", (a-b)/n}')
        OMO_IDLE_PSS_KB=$(awk -v a="$pss" -v b="$OMO_BASE_PSS" -v n="$IDLE_OPEN" 'BEGIN {printf "%.1f", (a-b)/n}')
    fi
}
if want idle; then
    log "idle connections: $IDLE_CONNS"
    # Restart Postfix so no idle smtpd processes from the runs above are counted.
    postfix -c "$PF_ETC" stop >/dev/null 2>&1 || true
    local_until=$((SECONDS + 20))
    while [ $SECONDS -lt $local_until ] && port_busy $P_PF; do sleep 0.2; done
    postfix -c "$PF_ETC" start >>"$PF/start.log" 2>&1 || die "postfix did not restart"
    wait_port $P_PF 30 || die "Postfix did not listen again on 127.0.0.1:$P_PF"
    sleep 1
    PF_MASTER=$(tr -d ' ' < "$PF/spool/pid/master.pid")
    PF_BASE_TOTAL=$(sum_mem Pss "$(postfix_pids)")
    with_idle_connections postfix $P_PF measure_postfix_idle
    if [ "$POSTFIX_ONLY" = 0 ]; then
        OMO_BASE_RSS=$(mem_of "$OMO_PID" Rss); OMO_BASE_PSS=$(mem_of "$OMO_PID" Pss)
        with_idle_connections omoikane $P_OMO measure_omoikane_idle
    fi
fi

# ---------------------------------------------------------------- POP3 retrieval
POP3_READY=0
setup_pop3() {
    command -v dovecot >/dev/null || { log "dovecot not installed (apt-get install dovecot-pop3d); POP3 skipped"; return 1; }
    log "POP3 fixture: $POP3_MSGS x $POP3_SIZE bytes"
    "$GEN" --make-maildrop "$WORK/pop3-fixture" --messages $POP3_MSGS --size $POP3_SIZE --rcpt "$RCPT" >/dev/null
    local D="$WORK/dovecot"
    mkdir -p "$D/run" "$D/state" "$D/home"
    rm -rf "$WORK/dovecot-box"; cp -a "$WORK/pop3-fixture" "$WORK/dovecot-box"
    chown -R nobody:nogroup "$WORK/dovecot-box" "$D/home"
    # A private Dovecot serving only POP3 on loopback from the fixture Maildir.
    cat > "$D/dovecot.conf" <<EOF
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:$WORK/dovecot-box
first_valid_uid = 100
pop3_uidl_format = %08Xu%08Xv
passdb {
  driver = static
  args = password=$POP_PW
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=$D/home
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $P_DOVE_POP
  }
}
service anvil {
  chroot =
}
service stats {
  chroot =
}
EOF
    dovecot -c "$D/dovecot.conf" >"$D/start.log" 2>&1 || { cat "$D/start.log" >&2; log "dovecot did not start; POP3 skipped"; return 1; }
    wait_port $P_DOVE_POP 15 || { log "dovecot did not listen on $P_DOVE_POP; POP3 skipped"; return 1; }
    if [ "$POSTFIX_ONLY" = 0 ]; then
        empty_maildir "$OMO_BOX"
        cp -a "$WORK/pop3-fixture/new/." "$OMO_BOX/new/"
    fi
    return 0
}
if want pop3 && setup_pop3; then
    POP3_READY=1
    # Two untimed passes each first: Dovecot builds its index, both warm the page cache, and
    # Omoikane's just-in-time compiled code reaches its optimized tier (one pass of 5,000 RETRs
    # left the first timed round visibly slower than the later ones).
    for warm in 1 2; do
        "$GEN" --pop3 --target dovecot --port $P_DOVE_POP --user "$RCPT" --password "$POP_PW" >/dev/null 2>>"$WORK/gen-errors.log" || true
        [ "$POSTFIX_ONLY" = 0 ] && { "$GEN" --pop3 --target omoikane --port $P_OMO_POP --user "$RCPT" --password "$POP_PW" >/dev/null 2>>"$WORK/gen-errors.log" || true; }
    done
    for ((r = 1; r <= ROUNDS; r++)); do
        log "POP3 round $r/$ROUNDS"
        run_gen "pop3 round=$r" --pop3 --target dovecot --port $P_DOVE_POP --user "$RCPT" --password "$POP_PW" >/dev/null
        [ "$POSTFIX_ONLY" = 0 ] && run_gen "pop3 round=$r" --pop3 --target omoikane --port $P_OMO_POP --user "$RCPT" --password "$POP_PW" >/dev/null
    done
fi

# ---------------------------------------------------------------- table
# med TAG TARGET KEY: median of KEY over the result lines containing TAG for TARGET.
med() {
    awk -v tag="$1" -v tgt=" target=$2 " -v key="$3=" 'index($0, tag) && index($0, tgt) {
            for (i = 1; i <= NF; i++) if (index($i, key) == 1) { v = substr($i, length(key) + 1); if (v ~ /^[0-9.]+$/) print v; break }
        }' "$RESULTS" | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && a > 0) printf "%.2fx", b/a; else print "NA" }'; }

echo
echo "Omoikane vs Postfix $(postconf -d -h mail_version 2>/dev/null) — medians of $ROUNDS interleaved round(s), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPU(s)"
echo "Same machine, noisy and shared: compare only figures from one run. Raw lines: ${RESULTS#$REPO/}"
if want smtp; then
    echo
    echo "SMTP intake + Maildir delivery (msgs/s; delivered = first send to last file in new/)"
    printf '%-16s %12s %12s %12s %12s %8s %12s %12s\n' configuration pf-accepted pf-delivered omo-accepted omo-delivered ratio sink sink-source
    for cfg in "${CONFIGS[@]}"; do
        s=${cfg%%:*}; size=${cfg##*:}
        p="smtp S=$s size=$size "
        pa=$(med "$p" postfix accepted/s); pd=$(med "$p" postfix delivered/s)
        oa=$(med "$p" omoikane accepted/s); od=$(med "$p" omoikane delivered/s)
        sk=$(med "$p" sink accepted/s)
        ss_=$(med "$p" sink-source accepted/s)
        printf '%-16s %12s %12s %12s %12s %8s %12s %12s\n' "S=$s $((size / 1024))KiB" "$pa" "$pd" "$oa" "$od" "$(ratio "$pd" "$od")" "$sk" "$ss_"
    done
    echo "  ratio = omoikane delivered / postfix delivered (target: >= 3x at S=10 and S=50, 1 KiB)"
    echo "  p99 latency ms (S=10 1KiB): postfix $(med "smtp S=10 size=1024 " postfix p99_ms), omoikane $(med "smtp S=10 size=1024 " omoikane p99_ms)"
fi
if want relay; then
    echo
    echo "Relay to smtp-sink, S=10, 1 KiB (msgs/s; first send to last message counted by the sink)"
    pr=$(med "relay S=10 " postfix delivered/s); orl=$(med "relay S=10 " omoikane delivered/s)
    printf '%-16s %12s %12s %8s\n' configuration postfix omoikane ratio
    printf '%-16s %12s %12s %8s\n' "relay S=10 1KiB" "$pr" "$orl" "$(ratio "$pr" "$orl")"
fi
if want idle; then
    echo
    echo "Memory per idle SMTP connection ($IDLE_CONNS connected, banner read, idle), KiB"
    echo "  postfix:  $PF_IDLE_KB (PSS of its smtpd processes / open connections); private (USS) only: $PF_IDLE_USS_KB; whole-instance PSS delta / connection: $PF_IDLE_TOTAL_KB"
    echo "  omoikane: $OMO_IDLE_KB (RSS delta / open connections); PSS delta / connection: $OMO_IDLE_PSS_KB"
fi
if want pop3 && [ "$POP3_READY" = 1 ]; then
    echo
    echo "POP3 retrieval: $POP3_MSGS x $((POP3_SIZE / 1024)) KiB, LIST + RETR all + QUIT (after two untimed warm-up passes)"
    printf '%-10s %12s %12s\n' server msgs/s MB/s
    printf '%-10s %12s %12s\n' dovecot "$(med "pop3 round=" dovecot msgs/s)" "$(med "pop3 round=" dovecot MB/s)"
    [ "$POSTFIX_ONLY" = 0 ] && printf '%-10s %12s %12s\n' omoikane "$(med "pop3 round=" omoikane msgs/s)" "$(med "pop3 round=" omoikane MB/s)"
fi
if [ -s "$WORK/gen-errors.log" ]; then
    echo; echo "Load generator errors (first 5):"; head -5 "$WORK/gen-errors.log"
fi
