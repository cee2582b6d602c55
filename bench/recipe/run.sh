#!/usr/bin/env bash
# bench/recipe/run.sh - vmbuild's recipe engine vs Ansible vs pyinfra on the
# same ~50-operation JupyterHub-like workload (bench/recipe/workload.py),
# each against a fresh Debian 12 test host (tests/support/testhost.sh):
# first converge, then a no-op re-run; medians of RUNS (default 5) runs,
# printed as ratios to vmbuild. Needs root (test hosts) and PyPI access.
#
#   bench/recipe/run.sh            RUNS=3 bench/recipe/run.sh      TOOLS=vmbuild bench/recipe/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
RUNS=${RUNS:-5}
WORK=${BENCH_DIR:-/tmp/vmbuild-bench-recipe}
TH=$ROOT/tests/support/testhost.sh
mkdir -p "$WORK"

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

if [ ! -x "$WORK/venv/bin/pyinfra" ] || [ ! -x "$WORK/venv/bin/ansible-playbook" ]; then
    log "installing ansible-core and pyinfra from PyPI into $WORK/venv"
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install -q ansible-core pyinfra
fi
log "building vmbuild"
cargo build -q --bin vmbuild
VMBUILD=$ROOT/target/debug/vmbuild
python3 bench/recipe/workload.py "$WORK/w"
KEY=$("$TH" keys | head -1)

# run TOOL PORT: one run of TOOL against 127.0.0.1:PORT
run() {
    local tool=$1 port=$2
    case $tool in
        vmbuild)
            "$VMBUILD" provision -q --host "root@127.0.0.1:$port" --key "$KEY" \
                --known-hosts "$WORK/known_hosts" "$WORK/w/recipe.toml" ;;
        ansible)
            ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_PIPELINING=True ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 \
            "$WORK/venv/bin/ansible-playbook" -i "127.0.0.1," -u root --private-key "$KEY" \
                -e "ansible_port=$port" "$WORK/w/playbook.yml" >"$WORK/ansible.log" 2>&1 ;;
        pyinfra)
            (cd "$WORK/w" && "$WORK/venv/bin/pyinfra" -y --ssh-user root --ssh-key "$KEY" --ssh-port "$port" \
                --data ssh_strict_host_key_checking=off --data ssh_known_hosts_file=/dev/null \
                127.0.0.1 deploy.py >"$WORK/pyinfra.log" 2>&1) ;;
    esac
}

now() { date +%s.%N; }
# TOOLS=vmbuild for a quick look at vmbuild alone (ratios need the peers)
TOOLS=${TOOLS:-vmbuild ansible pyinfra}
declare -A FIRST NOOP
for tool in $TOOLS; do
    for i in $(seq 1 "$RUNS"); do
        name=bench-$tool-$$-$i
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        "$TH" start "$name" "$port" >/dev/null 2>&1
        rm -f "$WORK/known_hosts"
        t0=$(now); run "$tool" "$port" || { log "$tool first run failed (see $WORK/$tool.log)"; "$TH" destroy "$name" >/dev/null 2>&1; exit 1; }
        t1=$(now); run "$tool" "$port" || { log "$tool re-run failed"; "$TH" destroy "$name" >/dev/null 2>&1; exit 1; }
        t2=$(now)
        "$TH" destroy "$name" >/dev/null 2>&1
        FIRST[$tool]+="$(echo "$t1 - $t0" | bc) "
        NOOP[$tool]+="$(echo "$t2 - $t1" | bc) "
        log "$tool run $i: converge $(echo "$t1 - $t0" | bc) s, no-op $(echo "$t2 - $t1" | bc) s"
    done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
printf '\n%-8s %14s %14s %16s %16s\n' tool "converge (s)" "no-op (s)" "converge ratio" "no-op ratio"
vf=$(echo "${FIRST[vmbuild]}" | median); vn=$(echo "${NOOP[vmbuild]}" | median)
for tool in $TOOLS; do
    f=$(echo "${FIRST[$tool]}" | median); n=$(echo "${NOOP[$tool]}" | median)
    printf '%-8s %14.2f %14.2f %15.1fx %15.1fx\n' "$tool" "$f" "$n" "$(echo "$f / $vf" | bc -l)" "$(echo "$n / $vn" | bc -l)"
done
echo "(medians of $RUNS runs on fresh test hosts; ratios: time / vmbuild's time)"
