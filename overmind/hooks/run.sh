# Run records, written inside a mission's unit by systemd's own hooks (POSIX sh, no Python):
#
#   ExecStartPre=  sh run.sh start [BACKOFF_MS CEILING_MS]   a run starts; on a restart, say so
#                                                            (and sleep the growing backoff)
#   ExecStartPost= sh run.sh pid                             the run's main process ($MAINPID)
#   ExecStopPost=  sh run.sh end                             how the run ended ($SERVICE_RESULT...)
#
# Each appends one line to $OVERMIND_STATE_DIR/runs/log (every mission's runs, in one file, so that
# a reader checks one file size to know whether anything happened); overmind reads new lines into
# its store when a command next looks (overmind/store/runs.py). A line is one printf, one append
# of well under PIPE_BUF bytes: lines of units ending at once never interleave, and a killed hook
# leaves no half line. $OVERMIND_STATE_DIR/runs/<mission id>.ended counts the runs that ended, for
# the restart number and the backoff. What this prints goes to the mission's journal.

set -u
verb=$1
mission=${OVERMIND_MISSION_ID:?}
dir=${OVERMIND_STATE_DIR:?}/runs
log=$dir/log
ended_file=$dir/$mission.ended
run=${INVOCATION_ID:--}

now() {
    date +%s.%N
}

ended() {
    count=0
    [ -f "$ended_file" ] && read -r count <"$ended_file"
    echo "${count:-0}"
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
start)
    [ -d "$dir" ] || mkdir -p "$dir"
    restart=$(ended)
    if [ "$restart" -gt 0 ]; then
        backoff=${2:-0}
        ceiling=${3:-0}
        if [ "$backoff" -gt 0 ]; then
            # systemd waited RestartSec= (the backoff); sleep what backoff * 2^(n-1) adds to it.
            delay=$backoff
            n=1
            while [ "$n" -lt "$restart" ] && [ "$delay" -lt "$ceiling" ]; do
                delay=$((delay * 2))
                n=$((n + 1))
            done
            [ "$delay" -gt "$ceiling" ] && delay=$ceiling
            extra=$((delay - backoff))
            [ "$extra" -gt 0 ] && sleep "$((extra / 1000)).$(printf %03d $((extra % 1000)))"
        fi
        echo "--- restart #$restart at $(date -u '+%Y-%m-%d %H:%M:%S UTC') ---"
    fi
    printf 'start %s %s %s\n' "$mission" "$(now)" "$run" >>"$log"
    ;;
pid)
    printf 'pid %s %s %s\n' "$mission" "$run" "${MAINPID:--}" >>"$log"
    ;;
end)
    result=${SERVICE_RESULT:-}
    code=${EXIT_CODE:-}
    status=${EXIT_STATUS:-}
    oom=0
    if [ "$result" = oom-kill ] || { [ "$result" != success ] && memory_limit_hit; }; then
        oom=1
    fi
    # journald may still hold the run's last lines (a last line without a newline waits for the
    # end of its stream): have it write them before our own line, and that one before the end is
    # recorded, so `overmind wait X && overmind logs X` shows them all, in order. Asking journald
    # needs the right to (root has it); elsewhere this is skipped.
    journalctl --sync >/dev/null 2>&1
    if [ "$oom" = 1 ]; then
        echo "--- killed: memory limit reached (MemoryMax) ---"
    elif [ "$result" = watchdog ]; then
        echo "--- killed: no activity for ${OVERMIND_ACTIVITY_TIMEOUT:-?}s ---"
    elif [ "$result" = timeout ]; then
        echo "--- killed: runtime limit reached ---"
    elif [ "$code" = exited ]; then
        echo "--- exited with code $status ---"
    elif [ "$result" = success ]; then
        echo "--- stopped (SIG$status) ---"
    else
        echo "--- killed by signal $status ---"
    fi
    journalctl --sync >/dev/null 2>&1
    [ -d "$dir" ] || mkdir -p "$dir"
    echo "$(($(ended) + 1))" >"$ended_file"
    printf 'exit %s %s %s %s %s %s %s\n' "$mission" "$(now)" "$run" "${result:--}" "${code:--}" "${status:--}" \
        "$oom" >>"$log"
    ;;
esac
