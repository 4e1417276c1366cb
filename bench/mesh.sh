#!/usr/bin/env bash
# The lock window of a mesh backup with the shared home plus 1 and then 3 Mesh nodes (copy provider), each node a
# real sshd on loopback running `bbdiy node` of the built jar, against the simulator. Prints the lock window and
# the whole backup's wall time of each, best of two runs.
# Usage: bench/mesh.sh [MB per home, default 300]. Needs bbdiy-cli/target/bbdiy-cli.jar (mvn -DskipTests package),
# openssh-server, jq, python3. Work directory: $BENCH_DIR (default /tmp/bbdiy-bench-mesh).
set -euo pipefail
MB="${1:-300}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
JAR="$ROOT/bbdiy-cli/target/bbdiy-cli.jar"
OUT="${BENCH_DIR:-/tmp/bbdiy-bench-mesh}"
[ -f "$JAR" ] || { echo "build first: mvn -DskipTests package" >&2; exit 2; }
[ -x /usr/sbin/sshd ] || { echo "apt-get install openssh-server" >&2; exit 2; }
rm -rf "$OUT" && mkdir -p "$OUT" /run/sshd
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
home() { # a home of $MB MB: 1 MB files of random data in repository-like directories
  local i dir
  mkdir -p "$1/shared/data/repositories"
  for i in $(seq 1 "$MB"); do
    dir="$1/shared/data/repositories/$((i % 10))/objects/pack"; mkdir -p "$dir"
    head -c 1048576 /dev/urandom > "$dir/pack-$i.pack"
  done
}
ssh-keygen -q -t ed25519 -N '' -f "$OUT/client_key"
cat > "$OUT/bbdiy-node" <<NODE
#!/bin/sh
exec java -Xmx512m -jar '$JAR' node
NODE
chmod 700 "$OUT/bbdiy-node"
: > "$OUT/known_hosts"
specs=()
echo "Generating the shared home and 3 Mesh homes of ${MB} MB..."
home "$OUT/shared-home"
for n in 1 2 3; do
  d="$OUT/n$n"; mkdir -p "$d"; ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
  port=$(free_port)
  printf '%s\n' "Port $port" "ListenAddress 127.0.0.1" "HostKey $d/host_key" "PidFile $d/sshd.pid" \
    "AuthorizedKeysFile $OUT/client_key.pub" "StrictModes no" "PasswordAuthentication no" "UsePAM no" \
    "PermitRootLogin prohibit-password" "LogLevel ERROR" > "$d/sshd_config"
  /usr/sbin/sshd -D -e -f "$d/sshd_config" 2> "$d/sshd.log" & pids+=($!)
  echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$d/host_key.pub")" >> "$OUT/known_hosts"
  home "$d/home"
  specs+=("n$n=root@127.0.0.1:$port:$d/home:copy")
done
sim=$(free_port)
java -jar "$JAR" simulate --port "$sim" --drain 0s > "$OUT/simulator.log" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$sim) 2>/dev/null && break; sleep 0.2; done
echo admin > "$OUT/password"; chmod 600 "$OUT/password"
run() { # nodes label
  local nodes="$1" cfg="$OUT/bbdiy-$1.properties"
  rm -rf "$OUT/work-$nodes" "$OUT/archives-$nodes" "$OUT/nodework-$nodes"
  printf '%s\n' "bitbucket.url=http://127.0.0.1:$sim" "bitbucket.user=admin" "bitbucket.password.file=$OUT/password" \
    "instance.home=$OUT/shared-home" "work.dir=$OUT/work-$nodes" "tar.dir=$OUT/archives-$nodes" "home.type=mesh" \
    "mesh.nodes=$(IFS=,; echo "${specs[*]:0:$nodes}")" \
    "mesh.ssh-options=-i $OUT/client_key -o IdentitiesOnly=yes -o UserKnownHostsFile=$OUT/known_hosts" \
    "mesh.node-command=$OUT/bbdiy-node" "mesh.node-work-dir=$OUT/nodework-$nodes" > "$cfg"
  chmod 600 "$cfg"
  java -jar "$JAR" backup --json --quiet --config "$cfg" > "$OUT/result-$nodes.json" \
    || { echo "backup with $nodes node(s) failed: $(cat "$OUT/result-$nodes.json")" >&2; exit 1; }
  jq -r '"\(.lockWindow) \(.total) \(.phases.CAPTURE) \(.phases.PREPARE) \(.phases.COMPLETE)"' "$OUT/result-$nodes.json"
}
best() { sort -n -k"$2" | head -1 | cut -d' ' -f"$2"; }
r1=(); r3=()
for round in 1 2; do
  a=$(run 1); echo "1 node:  lock ${a%% *}s (lockWindow total capture prepare complete: $a)"; r1+=("$a")
  b=$(run 3); echo "3 nodes: lock ${b%% *}s (lockWindow total capture prepare complete: $b)"; r3+=("$b")
done
l1=$(printf '%s\n' "${r1[@]}" | best x 1); l3=$(printf '%s\n' "${r3[@]}" | best x 1)
t1=$(printf '%s\n' "${r1[@]}" | best x 2); t3=$(printf '%s\n' "${r3[@]}" | best x 2)
cat <<REPORT
homes: shared + Mesh nodes of ${MB} MB each (copy provider), $(nproc) cores, best of two runs, drain 0s
lock window  1 node ${l1}s   3 nodes ${l3}s   3/1 $(python3 -c "print(round($l3/$l1,2))")x (target <= 1.2x)
wall time    1 node ${t1}s   3 nodes ${t3}s   3/1 $(python3 -c "print(round($t3/$t1,2))")x (target < 3x: less than linear)
REPORT
