# Run records, written inside a mission's unit by systemd's own hooks (POSIX sh, no Python):
#
#   ExecCondition= sh run.sh finished                        (unit files of earlier releases) finished: skip
#   ExecStartPre=  sh run.sh start [BACKOFF_MS CEILING_MS]   a run starts; on a restart, say so
#                                                            (and sleep the growing backoff)
#   ExecStartPost= sh run.sh pid                             (unit files of earlier releases) $MAINPID
#   ExecStopPost=  sh run.sh end                             how the run ended ($SERVICE_RESULT...)
#                  sh run.sh retry STATUS                    an attempt of a blueprint task's retry loop
#                                                            ended (a run of its own; `start` follows)
#   ExecStart=     sh run.sh run -- COMMAND...               the run's main process (its pid), then the
#                                                            command, in place of this shell
#
# Each appends one line to $OVERMIND_STATE_DIR/runs/log (every mission's runs, in one file, so that
# a reader checks one file size to know whether anything happened); overmind reads new lines into
# its store when a command next looks (overmind/store/runs.py). A line is one printf, one append
# of well under PIPE_BUF bytes: lines of units ending at once never interleave, and a killed hook
# leaves no half line. $OVERMIND_STATE_DIR/runs/<mission id>.ended counts the runs that ended, for
# the restart number and the backoff; for a persisted mission, <mission id>.boots counts the boots
# that started it again (<mission id>.manager: the manager its last run started under; <mission id>.done:
# it has finished, no boot starts it again; <mission id>.failed: a blueprint task that failed); <mission id>.stop is not empty while `overmind stop` has asked
# the run to end (so that a stop's grace period running out is not told as a runtime limit). What
# this prints goes to the mission's journal.
#
# These run for every start and end of every mission, so they start no other program on the way
# (stopping hundreds of missions at once is bounded by them): times are the kernel's uptime with
# the boot's id, read by the shell itself, and turned into dates when the line is read.
#
# A run can take over a process: when the private host's user manager dies, its missions run on,
# and the next manager starts their units again (overmind/host/recovery.py) with a marker,
# $OVERMIND_STATE_DIR/runs/<mission>.adopt = "PID START_TIME NOTIFY KNOWN_END". `run` then waits
# for that process instead of starting the command (after SIGUSR2, which has a wrapper say
# READY=1 again, to the new manager) and ends as it ended: the supervisor, its new parent, wrote
# that to /run/overmind-host/exits/PID. An end nobody could see is recorded as `lost`.

set -u
verb=$1
mission=${OVERMIND_MISSION_ID:?}
dir=${OVERMIND_STATE_DIR:?}/runs
log=$dir/log
ended_file=$dir/$mission.ended
stop_file=$dir/$mission.stop
run=${INVOCATION_ID:--}
read -r now _ </proc/uptime
read -r boot </proc/sys/kernel/random/boot_id
ended=0
[ -f "$ended_file" ] && read -r ended <"$ended_file"
adopt_file=$dir/$mission.adopt
lost_file=$dir/$mission.lost

adopted() {
    # The marker names a process that still runs (its start time tells a reused pid apart).
    [ -f "$adopt_file" ] && read -r a_pid a_since a_notify a_known <"$adopt_file" || return 1
    [ -r "/proc/$a_pid/stat" ] && read -r a_stat <"/proc/$a_pid/stat" || return 1
    set -- ${a_stat##*) }
    [ "${20:-}" = "$a_since" ]
}

end_as_adopted_ended() {
    exit_file=/run/overmind-host/exits/$a_pid
    if [ "$a_known" = 1 ] && [ -f "$exit_file" ] && read -r how value <"$exit_file"; then
        rm -f "$exit_file"
        case $how in
        exited) exit "$value" ;;
        killed) kill -s "$value" $$ 2>/dev/null ;;  # then, if this shell ignores it (PIPE), exit 255
        esac
    fi
    : >"$lost_file"
    exit 255
}

memory_limit_hit() {
    # The kernel's OOM killer fired in this cgroup: cgroup v2 memory.events or v1 memory.oom_control.
    while IFS=: read -r _ controllers path; do
        case $controllers in
            "") candidates="/sys/fs/cgroup$path/memory.events /sys/fs/cgroup/unified$path/memory.events" ;;
            *memory*) candidates="/sys/fs/cgroup/memory$path/memory.oom_control" ;;
            *) continue ;;
        esac
        for candidate in $candidates; do
            [ -r "$candidate" ] || continue
            while read -r key value; do
                [ "$key" = oom_kill ] && [ "$value" -gt 0 ] 2>/dev/null && return 0
            done <"$candidate"
        done
    done </proc/self/cgroup
    return 1
}

case $verb in
finished)
    # ExecCondition= of a persisted mission's unit file written by an earlier release (they check
    # ConditionPathExists= now): skip the start (exit 1) once it has finished.
    [ -f "$dir/$mission.done" ] && exit 1
    exit 0
    ;;
run)
    shift
    [ "${1:-}" = -- ] && shift
    if adopted; then
        printf 'pid %s %s %s\n' "$mission" "$run" "$a_pid" >>"$log"
        [ "$a_notify" = 1 ] && kill -USR2 "$a_pid" 2>/dev/null
        tail --pid="$a_pid" -s 0.5 -f /dev/null 2>/dev/null
        end_as_adopted_ended
    fi
    # The run's main process is this very process once it execs: recorded here rather than by an
    # ExecStartPost= hook, one process fewer for each start (hundreds at once after a boot).
    printf 'pid %s %s %s\n' "$mission" "$run" "$$" >>"$log"
    exec "$@"
    ;;
start)
    [ -d "$dir" ] || mkdir -p "$dir"
    if adopted && [ "$PPID" != "$a_pid" ]; then  # (a blueprint task's retry loop, taken over, starts again)
        echo "--- taken back by a new host manager (process $a_pid runs on) ---"
    elif [ "${ended:-0}" -gt 0 ]; then
        backoff=${2:-0}
        ceiling=${3:-0}
        if [ "$backoff" -gt 0 ]; then
            # systemd waited RestartSec= (the backoff); sleep what backoff * 2^(n-1) adds to it.
            delay=$backoff
            n=1
            while [ "$n" -lt "$ended" ] && [ "$delay" -lt "$ceiling" ]; do
                delay=$((delay * 2))
                n=$((n + 1))
            done
            [ "$delay" -gt "$ceiling" ] && delay=$ceiling
            extra=$((delay - backoff))
            [ "$extra" -gt 0 ] && sleep "$((extra / 1000)).$(printf %03d $((extra % 1000)))"
        fi
        echo "--- restart #$ended at $(date -u '+%Y-%m-%d %H:%M:%S UTC') ---"
        read -r now _ </proc/uptime  # after the backoff
    fi
    [ -s "$stop_file" ] && : >"$stop_file"  # a stop asked of an earlier run is done with
    if [ -n "${OVERMIND_PERSIST:-}" ] && [ -n "${MANAGERPID:-}" ] && read -r stat <"/proc/$MANAGERPID/stat"; then
        # A persisted mission: a start under another manager than its last run's (the kernel's
        # boot, the manager's pid and start time) is a boot starting it again; count it.
        set -f
        set -- ${stat##*")"}
        manager="$boot-$MANAGERPID-${20:-}"
        last=
        [ -f "$dir/$mission.manager" ] && read -r last <"$dir/$mission.manager"
        if [ -n "$last" ] && [ "$last" != "$manager" ]; then
            boots=0
            [ -f "$dir/$mission.boots" ] && read -r boots <"$dir/$mission.boots"
            boots=$((boots + 1))
            echo "$boots" >"$dir/$mission.boots"
            echo "--- restarted by boot #$boots ---"
        fi
        echo "$manager" >"$dir/$mission.manager"
    fi
    printf 'start %s %s %s %s\n' "$mission" "$now" "$boot" "$run" >>"$log"
    ;;
pid)
    # ExecStartPost= of the unit files of earlier releases (the run records its pid itself now).
    main=${MAINPID:--}
    adopted && main=$a_pid
    printf 'pid %s %s %s\n' "$mission" "$run" "$main" >>"$log"
    ;;
end | retry)
    # A start its condition skipped (`finished`, of an earlier release's unit file) was no run.
    [ "${SERVICE_RESULT:-}" = exec-condition ] && exit 0
    result=${SERVICE_RESULT:-}
    code=${EXIT_CODE:-}
    status=${EXIT_STATUS:-}
    if [ "$verb" = retry ]; then  # systemd did not see this attempt end: say it as systemd would
        status=${2:?}
        result=exit-code
        code=exited
        if [ "$status" -gt 128 ]; then
            code=killed
            status=$(kill -l "$((status - 128))")
            result=signal
        fi
    fi
    oom=0
    if [ "$verb" = end ]; then  # the unit's run is over: a taken-over process with it
        rm -f "$adopt_file"
        if [ -f "$lost_file" ]; then
            rm -f "$lost_file"
            result=lost
        fi
    fi
    if [ "$result" = oom-kill ] || { [ "$result" != success ] && memory_limit_hit; }; then
        oom=1
    fi
    # journald may still hold the run's last lines (a last line without a newline waits for the end
    # of its stream): have it write them before our own line, and keep this hook alive until that
    # line is written too, so `overmind wait X && overmind logs X` shows them all, in order. Each
    # sync costs journald an fsync, so a run ended from outside by TERM, KILL, INT or HUP (a stop,
    # a kill: `stop --all` of hundreds at once) skips them. Only root may ask; elsewhere a no-op.
    sync=journalctl
    case $code:$status:$oom in killed:TERM:0 | killed:KILL:0 | killed:INT:0 | killed:HUP:0) sync=: ;; esac
    $sync --sync >/dev/null 2>&1
    if [ "$result" = lost ]; then
        echo "--- lost: the host manager died ---"
    elif [ "$oom" = 1 ]; then
        echo "--- killed: memory limit reached (MemoryMax) ---"
    elif [ "$result" = watchdog ]; then
        echo "--- killed: no activity for ${OVERMIND_ACTIVITY_TIMEOUT:-?}s ---"
    elif [ "$result" = timeout ] && [ -s "$stop_file" ]; then
        echo "--- stopped by request, killed after the ${OVERMIND_STOP_TIMEOUT:-?}s grace period ---"
    elif [ "$result" = timeout ]; then
        echo "--- killed: runtime limit reached ---"
    elif [ "$code" = exited ]; then
        echo "--- exited with code $status ---"
    elif [ "$result" = success ]; then
        echo "--- stopped (SIG$status) ---"
    else
        echo "--- killed by signal $status ---"
    fi
    $sync --sync >/dev/null 2>&1
    [ -d "$dir" ] || mkdir -p "$dir"
    echo "$((${ended:-0} + 1))" >"$ended_file"
    # A persisted mission whose process ended by itself with no restart to follow has finished:
    # the next boot does not start it again (a stop at shutdown ends it by a signal instead).
    # A blueprint's persisted task that failed is marked `.failed` instead: the next boot's start of
    # it fails (AssertPathExists=), so what requires it does not run then either.
    case ${OVERMIND_PERSIST:-}:$verb:$code:$result:${OVERMIND_FAILURE_HOLDS:-} in
        never:end:exited:success:* | on-failure:end:exited:success:* | never:end:exited:*:) : >"$dir/$mission.done" ;;
        never:end:exited:*:1) : >"$dir/$mission.failed" ;;
    esac
    printf 'exit %s %s %s %s %s %s %s %s\n' "$mission" "$now" "$boot" "$run" "${result:--}" "${code:--}" \
        "${status:--}" "$oom" >>"$log"
    ;;
esac
