#!/usr/bin/env bash
# shellcheck disable=SC2046,SC2015,SC2016  # $(nodes) splits on purpose; A && B || die; bash -c '...$$'
# A real Apache Kafka (KRaft, every node a combined controller+broker) on 127.0.0.1, from the
# Maven Central jars pinned in scripts/kafka/pom.xml. Needs Java 17+ and Maven; no docker.
#
#   kafka.sh up                 start KAFKA_BROKERS nodes (default 1), or reuse them; prints the bootstrap list
#   kafka.sh down               stop every node (SIGTERM, then SIGKILL) and delete the data; keeps the jars
#   kafka.sh status             one line per node; exit 0 when every node runs and answers
#   kafka.sh bootstrap          print the bootstrap list, 127.0.0.1:9092[,127.0.0.1:9093,...]
#   kafka.sh kill NODE          SIGKILL one node (1-based)
#   kafka.sh stop NODE          SIGTERM one node (controlled shutdown), SIGKILL after KAFKA_STOP_TIMEOUT
#   kafka.sh start NODE         start a stopped node on its data and wait until it is an unfenced broker
#   kafka.sh stop-all           stop every node, keeping the data
#   kafka.sh start-all          start every stopped node on its data, wait for the whole cluster
#   kafka.sh pause NODE         SIGSTOP one node;  kafka.sh resume NODE: SIGCONT
#   kafka.sh leader TOPIC PART  print the node id leading TOPIC's partition PART
#   kafka.sh run-class MAIN ... run a Kafka main class on the cached jars (tools logging to stderr)
#   kafka.sh secure-bootstrap   print the SASL_SSL bootstrap list of a KAFKA_SECURE=1 cluster
#   kafka.sh ca-file            print the path of that cluster's CA certificate (PEM)
#
# up reuses a running cluster of the requested size (starting or resuming any stopped or paused
# node); one of another size is an error (exit 2: run down first); when no node of the last cluster
# runs, up deletes its data and formats a fresh one. Every node is a controller voter: a stop-all
# SIGKILLs the last node(s) 5 s after the quorum is gone (their controlled shutdown cannot finish).
#
# Results go to stdout, progress and errors to stderr. Exit codes: 0 ok; 1 error or usage; 2 a
# cluster of another size runs (up) or no cluster is set up (other commands); 3 not every node
# runs (status) or the partition has no leader (leader); 4 no such topic or partition (leader).
#
# Environment:
#   KAFKA_BROKERS          nodes for `up`, 1..9 (default 1). Replication factor min(3, nodes) for every
#                          topic (internal ones too); min.insync.replicas 2 with 3+ nodes, else 1
#   KAFKA_PARTITIONS       num.partitions of auto-created topics (default 3)
#   KAFKA_PORT             client port of node 1, node N listens on KAFKA_PORT+N-1 (default 9092)
#   KAFKA_CONTROLLER_PORT  controller port of node 1, likewise (default 19093)
#   KAFKA_HEAP_OPTS        broker JVM heap (default "-Xms256m -Xmx512m")
#   KAFKA_EXTRA_CONFIG     extra server.properties lines (key=value, newline-separated) for a fresh `up`
#   KAFKA_SECURE           1: a fresh `up` also gives every node a SASL_SSL listener on its client port + 100
#                          (9192 for 9092), for clients only (the nodes and kafka.sh's tools keep PLAINTEXT):
#                          TLS with a certificate for 127.0.0.1/localhost signed by a CA that `up` generates
#                          with keytool into $KAFKA_RUN_DIR/tls (kafka.sh ca-file), and SASL user intake,
#                          password intake-secret, for PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512. Test use only.
#                          `up` refuses to reuse a running cluster started without it (exit 2)
#   KAFKA_READY_TIMEOUT    seconds to wait for the nodes to be up and registered (default 90)
#   KAFKA_STOP_TIMEOUT     seconds between SIGTERM and SIGKILL (default 20)
#   KAFKA_LEADER_TIMEOUT   seconds `leader` retries a failing describe (default 20)
#   KAFKA_CACHE_DIR        jars and runtime (default <repo>/.cache/kafka); KAFKA_RUN_DIR: runtime
#                          (default $KAFKA_CACHE_DIR/run, node-N/{data,logs,pid,server.properties})
#   JAVA, JAVA_HOME, MVN   the java and mvn to use
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
POM=$SCRIPT_DIR/pom.xml
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n 1)
CACHE=${KAFKA_CACHE_DIR:-$ROOT/.cache/kafka}
LIBS=$CACHE/$KAFKA_VERSION/libs
MARKER=$CACHE/$KAFKA_VERSION/fetched
RUN=${KAFKA_RUN_DIR:-$CACHE/run}
STATE=$RUN/cluster.env

if [[ -n ${JAVA:-} ]]; then :
elif [[ -n ${JAVA_HOME:-} ]]; then JAVA=$JAVA_HOME/bin/java
else JAVA=java; fi
MVN=${MVN:-mvn}
READY_TIMEOUT=${KAFKA_READY_TIMEOUT:-90}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-20}
# tools are short-lived clients: C1 only and a small serial heap start fastest
TOOL_JVM_OPTS=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto
  "-Dlog4j2.configurationFile=$SCRIPT_DIR/tools-log4j2.properties")

log() { printf 'kafka: %s\n' "$*" >&2; }
die() { local code=1; if [[ $1 =~ ^[0-9]+$ ]]; then code=$1; shift; fi; log "$*"; exit "$code"; }
now() { date +%s; }

# ---- the jars ------------------------------------------------------------------------------------

check_java() {
  command -v "$JAVA" >/dev/null 2>&1 || die "no java ('$JAVA'); Kafka $KAFKA_VERSION needs Java 17+"
  local v
  v=$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\).*/\1/p' | head -n 1)
  [[ -n $v && $v -ge 17 ]] || die "Kafka $KAFKA_VERSION needs Java 17+, '$JAVA' is ${v:-unknown}"
}

# fetch copies the pom's dependencies into $LIBS once; the marker holds the pom's checksum, so
# editing the pom (a new version) fetches again and an unchanged pom never touches the network.
fetched() {
  [[ -f $MARKER && $(cat "$MARKER") == "$(sha256sum "$POM" | cut -d' ' -f1)" ]] &&
    compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null
}
fetch() {
  fetched && return 0
  local want
  want=$(sha256sum "$POM" | cut -d' ' -f1)
  command -v "$MVN" >/dev/null 2>&1 || die "no mvn ('$MVN') to fetch Kafka $KAFKA_VERSION from Maven Central"
  local tmp=$CACHE/$KAFKA_VERSION/libs.tmp.$$ t0
  t0=$(now)
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIBS"
  rm -rf "$tmp" && mkdir -p "$tmp"
  # (Debian's mvn prints colour resets even in batch mode: stripped)
  if ! "$MVN" -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DoutputDirectory="$tmp" \
    -DincludeScope=runtime 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2; then
    rm -rf "$tmp"
    die "mvn could not fetch the Kafka jars (see above)"
  fi
  rm -rf "$LIBS" && mv "$tmp" "$LIBS"
  printf '%s\n' "$want" >"$MARKER"
  log "fetched $(find "$LIBS" -name "*.jar" | wc -l) jars in $(($(now) - t0))s"
}

# run_tool MAIN ARGS...: a Kafka command-line class on the cached jars
run_tool() { "$JAVA" "${TOOL_JVM_OPTS[@]}" -cp "$LIBS/*" "$@"; }

# ---- cluster state -------------------------------------------------------------------------------

# cluster.env holds what `up` decided: BROKERS PARTITIONS PORT_BASE CONTROLLER_PORT_BASE CLUSTER_ID
# SECURE (absent from the files of clusters set up before KAFKA_SECURE: 0)
have_state() { [[ -f $STATE ]]; }
load_state() {
  have_state || die 2 "no Kafka cluster is set up (run: make kafka-up)"
  SECURE=0
  # shellcheck disable=SC1090
  source "$STATE"
}

node_dir() { printf '%s/node-%s' "$RUN" "$1"; }
port_of() { echo $((PORT_BASE + $1 - 1)); }
secure_port_of() { echo $((PORT_BASE + $1 - 1 + 100)); }
cport_of() { echo $((CONTROLLER_PORT_BASE + $1 - 1)); }
nodes() { seq 1 "$BROKERS"; }

bootstrap_of() { # bootstrap_of NODE...
  local n out=
  for n in "$@"; do out+=${out:+,}127.0.0.1:$(port_of "$n"); done
  printf '%s\n' "$out"
}
bootstrap_all() { bootstrap_of $(nodes); }
# bootstrap_live: the nodes that run and are not paused (all of them when none is)
bootstrap_live() {
  local n live=()
  for n in $(nodes); do if alive "$n" && ! paused "$n"; then live+=("$n"); fi; done
  if ((${#live[@]})); then bootstrap_of "${live[@]}"; else bootstrap_all; fi
}

pid_of() { local f; f=$(node_dir "$1")/pid; [[ -s $f ]] && cat "$f"; }
# alive NODE: its pid runs and is that node's broker (not a recycled pid)
alive() {
  local pid
  pid=$(pid_of "$1") || return 1
  local cmdline
  cmdline=$({ tr '\0' '\n' <"/proc/$pid/cmdline"; } 2>/dev/null) || return 1
  grep -qxF -- "-Dintake.kafka.node=$(node_dir "$1")" <<<"$cmdline"
}
paused() {
  local pid st
  pid=$(pid_of "$1") || return 1
  st=$({ sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f1; } 2>/dev/null) || return 1
  [[ $st == T ]]
}
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

check_node_arg() {
  [[ ${1:-} =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= BROKERS)) || die "NODE must be 1..$BROKERS, not '${1:-}'"
}

# ---- starting and stopping -----------------------------------------------------------------------

render_config() { # render_config NODE
  local n=$1 d rf minisr voters='' i
  d=$(node_dir "$n")
  rf=$((BROKERS < 3 ? BROKERS : 3))
  minisr=$((rf >= 3 ? 2 : 1))
  for i in $(nodes); do voters+=${voters:+,}$i@127.0.0.1:$(cport_of "$i"); done
  mkdir -p "$d/data" "$d/logs"
  sed -e "s|@NODE_ID@|$n|g" -e "s|@VOTERS@|$voters|g" -e "s|@PORT@|$(port_of "$n")|g" \
    -e "s|@CONTROLLER_PORT@|$(cport_of "$n")|g" -e "s|@DATA_DIR@|$d/data|g" \
    -e "s|@PARTITIONS@|$PARTITIONS|g" -e "s|@RF@|$rf|g" -e "s|@MIN_ISR@|$minisr|g" \
    "$SCRIPT_DIR/server.properties.tmpl" >"$d/server.properties"
  if ((SECURE)); then secure_config "$n"; fi
  if [[ -n ${KAFKA_EXTRA_CONFIG:-} ]]; then
    printf '\n# KAFKA_EXTRA_CONFIG\n%s\n' "$KAFKA_EXTRA_CONFIG" >>"$d/server.properties"
  fi
}

# ---- KAFKA_SECURE --------------------------------------------------------------------------------

SECURE_USER=intake
SECURE_PASSWORD=intake-secret
STOREPASS=intake-kafka-sh # the test keystores' password; nothing they hold is secret

keytool_bin() { # the keytool beside $JAVA (Debian's java is a symlink into the JDK)
  local k
  k=$(dirname "$(readlink -f "$(command -v "$JAVA")")")/keytool
  if [[ -x $k ]]; then printf '%s\n' "$k"; else printf 'keytool\n'; fi
}

# make_tls: a CA and, signed by it, one broker certificate for 127.0.0.1 and localhost (every node
# listens there), in $RUN/tls: ca.pem for clients, broker.p12 (key, certificate, CA) for the nodes
make_tls() {
  local dir=$RUN/tls kt
  kt=$(keytool_bin)
  mkdir -p "$dir"
  {
    "$kt" -genkeypair -alias ca -dname "CN=intake kafka.sh test CA" -keyalg EC -groupname secp256r1 \
      -ext bc:c -ext ku:c=keyCertSign,cRLSign -validity 3650 -keystore "$dir/ca.p12" -storetype PKCS12 -storepass "$STOREPASS" &&
      "$kt" -exportcert -rfc -alias ca -keystore "$dir/ca.p12" -storepass "$STOREPASS" -file "$dir/ca.pem" &&
      "$kt" -genkeypair -alias broker -dname "CN=localhost" -keyalg EC -groupname secp256r1 -validity 3650 \
        -keystore "$dir/broker.p12" -storetype PKCS12 -storepass "$STOREPASS" &&
      "$kt" -certreq -alias broker -keystore "$dir/broker.p12" -storepass "$STOREPASS" -file "$dir/broker.csr" &&
      "$kt" -gencert -alias ca -keystore "$dir/ca.p12" -storepass "$STOREPASS" -infile "$dir/broker.csr" -rfc \
        -ext SAN=ip:127.0.0.1,dns:localhost -ext EKU=serverAuth -validity 3650 -outfile "$dir/broker.pem" &&
      "$kt" -importcert -noprompt -alias ca -file "$dir/ca.pem" -keystore "$dir/broker.p12" -storepass "$STOREPASS" &&
      "$kt" -importcert -noprompt -alias broker -file "$dir/broker.pem" -keystore "$dir/broker.p12" -storepass "$STOREPASS"
  } >"$dir/keytool.log" 2>&1 || { cat "$dir/keytool.log" >&2; die "keytool could not make the test certificates"; }
}

# secure_config NODE: the SASL_SSL listener added to the node's rendered server.properties
secure_config() {
  local n=$1 f sp
  f=$(node_dir "$n")/server.properties
  sp=$(secure_port_of "$n")
  sed -i -e "s|^listeners=.*|&,SASL_SSL://127.0.0.1:$sp|" -e "s|^advertised.listeners=.*|&,SASL_SSL://127.0.0.1:$sp|" \
    -e "s|^listener.security.protocol.map=.*|&,SASL_SSL:SASL_SSL|" "$f"
  cat >>"$f" <<EOF

# KAFKA_SECURE: clients may also connect with SASL over TLS on $sp (user $SECURE_USER); the
# nodes keep PLAINTEXT among themselves. SCRAM credentials are added when the storage is formatted.
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SECURE_USER="$SECURE_PASSWORD";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$RUN/tls/broker.p12
ssl.keystore.password=$STOREPASS
EOF
}

format_all() { # the nodes' storage, in parallel: one JVM each
  local n pids=() rc=0 scram=()
  if ((SECURE)); then
    scram=(--add-scram "SCRAM-SHA-256=[name=$SECURE_USER,password=$SECURE_PASSWORD]"
      --add-scram "SCRAM-SHA-512=[name=$SECURE_USER,password=$SECURE_PASSWORD]")
  fi
  for n in $(nodes); do
    run_tool kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$(node_dir "$n")/server.properties" "${scram[@]}" \
      >"$(node_dir "$n")/logs/format.log" 2>&1 &
    pids+=($!)
  done
  for n in "${!pids[@]}"; do
    if ! wait "${pids[$n]}"; then
      rc=1
      log "formatting node $((n + 1)) failed:"; cat "$(node_dir $((n + 1)))/logs/format.log" >&2
    fi
  done
  ((rc == 0)) || die "could not format the storage"
}

# start_node NODE: the JVM on the node's existing server.properties and data, in its own session
# (make's ^C does not reach it); does not wait
start_node() {
  local n=$1 d i
  d=$(node_dir "$n")
  [[ -f $d/data/meta.properties ]] || die "node $n has no formatted storage (run: make kafka-down && make kafka-up)"
  rm -f "$d/pid"
  # shellcheck disable=SC2086
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$d/pid" \
    "$JAVA" ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true "-Dintake.kafka.node=$d" "-Dkafka.logs.dir=$d/logs" \
    "-Dlog4j2.configurationFile=$SCRIPT_DIR/log4j2.properties" \
    -cp "$LIBS/*" kafka.Kafka "$d/server.properties" \
    </dev/null >>"$d/logs/stdout.log" 2>&1 9>&- &
  for i in $(seq 50); do [[ -s $d/pid ]] && return 0; sleep 0.1; done
  die "node $n did not start (see $d/logs/stdout.log)"
}

dump_logs() { # dump_logs NODE: the end of a failed node's logs
  local d
  d=$(node_dir "$1")
  log "--- node $1: tail of $d/logs/stdout.log and server.log"
  tail -n 15 "$d/logs/stdout.log" >&2 2>/dev/null || true
  grep -E '\] (ERROR|FATAL) ' "$d/logs/server.log" 2>/dev/null | tail -n 15 >&2 || true
}

# admin_config: the admin client settings of kafka.sh's own tool calls; short timeouts, so that a
# paused or killed node costs seconds, not the default 30 s per request
admin_config() {
  local cfg=$RUN/admin.properties
  [[ -f $cfg ]] || printf '%s\n' request.timeout.ms=3000 default.api.timeout.ms=8000 retry.backoff.ms=100 \
    socket.connection.setup.timeout.ms=1000 socket.connection.setup.timeout.max.ms=2000 >"$cfg"
  printf '%s\n' "$cfg"
}

# unfenced_ids: the broker ids the cluster lists as registered and unfenced (one per line)
unfenced_ids() {
  timeout 20 "$JAVA" "${TOOL_JVM_OPTS[@]}" -cp "$LIBS/*" org.apache.kafka.tools.ClusterTool \
    list-endpoints --bootstrap-server "$(bootstrap_live)" --command-config "$(admin_config)" 2>/dev/null |
    awk '$1 ~ /^[0-9]+$/ && $5 == "unfenced" {print $1}'
}

wait_ready() { # wait_ready NODE...: every NODE's port answers and it is a registered, unfenced broker
  local deadline n missing ids
  deadline=$(($(now) + READY_TIMEOUT))
  for n in "$@"; do
    until port_open "$(port_of "$n")"; do
      alive "$n" || { dump_logs "$n"; die "node $n exited while starting"; }
      (($(now) < deadline)) || { dump_logs "$n"; die "node $n: port $(port_of "$n") not open after ${READY_TIMEOUT}s"; }
      sleep 0.2
    done
  done
  while :; do
    ids=$(unfenced_ids || true)
    missing=()
    for n in "$@"; do grep -qx "$n" <<<"$ids" || missing+=("$n"); done
    ((${#missing[@]} == 0)) && return 0
    for n in "${missing[@]}"; do alive "$n" || { dump_logs "$n"; die "node $n exited while starting"; }; done
    (($(now) < deadline)) || die "not registered after ${READY_TIMEOUT}s: node(s) ${missing[*]} (unfenced: ${ids//$'\n'/ })"
    sleep 0.5
  done
}

# stop_nodes TIMEOUT GRACE NODE...: SIGTERM (after SIGCONT), SIGKILL those left after TIMEOUT. Every
# node is a controller voter, so once fewer than a majority run, those left cannot finish their
# controlled shutdown (it waits for a quorum that will not come back): they get GRACE seconds more.
stop_nodes() {
  local timeout=$1 grace=$2 n pid deadline left up lost_at='' why majority=$((BROKERS / 2 + 1))
  shift 2
  for n in "$@"; do
    if alive "$n"; then
      pid=$(pid_of "$n")
      kill -CONT "$pid" 2>/dev/null || true
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  deadline=$(($(now) + timeout))
  while :; do
    left=()
    for n in "$@"; do if alive "$n"; then left+=("$n"); fi; done
    ((${#left[@]} == 0)) && break
    up=0
    for n in $(nodes); do if alive "$n"; then up=$((up + 1)); fi; done
    if ((up < majority)) && [[ -z $lost_at ]]; then lost_at=$(now); fi
    why=
    if (($(now) >= deadline)); then why="still up after ${timeout}s"
    elif [[ -n $lost_at ]] && (($(now) - lost_at >= grace)); then
      why="still up ${grace}s after the controller quorum went (no controlled shutdown without it)"
    fi
    if [[ -n $why ]]; then
      log "node(s) ${left[*]} $why: SIGKILL"
      for n in "${left[@]}"; do kill -KILL "$(pid_of "$n")" 2>/dev/null || true; done
      for _ in $(seq 50); do
        left=()
        for n in "$@"; do if alive "$n"; then left+=("$n"); fi; done
        ((${#left[@]} == 0)) && break
        sleep 0.1
      done
      ((${#left[@]} == 0)) || die "node(s) ${left[*]} survived SIGKILL"
      break
    fi
    sleep 0.2
  done
  for n in "$@"; do rm -f "$(node_dir "$n")/pid"; done
}

lock() { # one mutating command at a time (parallel test packages may all call up)
  mkdir -p "$CACHE"
  exec 9>"$CACHE/lock"
  flock -w 600 9 || die "another kafka.sh holds $CACHE/lock"
}

# ---- commands ------------------------------------------------------------------------------------

cmd_up() {
  local want=${KAFKA_BROKERS:-1} parts=${KAFKA_PARTITIONS:-3} secure=${KAFKA_SECURE:-0} n running=() stopped=() t0
  [[ $want =~ ^[0-9]+$ ]] && ((want >= 1 && want <= 9)) || die "KAFKA_BROKERS must be 1..9, not '$want'"
  [[ $secure == [01] ]] || die "KAFKA_SECURE must be 0 or 1, not '$secure'"
  [[ $parts =~ ^[0-9]+$ ]] && ((parts >= 1)) || die "KAFKA_PARTITIONS must be a positive number, not '$parts'"
  lock
  check_java
  fetch
  t0=$(now)
  if have_state; then
    load_state
    for n in $(nodes); do if alive "$n"; then running+=("$n"); else stopped+=("$n"); fi; done
    if ((${#running[@]})); then
      ((BROKERS == want)) || die 2 "a $BROKERS-node Kafka cluster is running ($(bootstrap_all)), not $want: run 'make kafka-down' first"
      ((SECURE || !secure)) || die 2 "the Kafka cluster running in $RUN has no SASL_SSL listener (KAFKA_SECURE=1): run down first, or use another KAFKA_RUN_DIR"
      ((PARTITIONS == parts)) || log "note: the running cluster was started with KAFKA_PARTITIONS=$PARTITIONS, not $parts"
      for n in "${running[@]}"; do
        if paused "$n"; then log "resuming paused node $n"; kill -CONT "$(pid_of "$n")"; fi
      done
      if ((${#stopped[@]} == 0)); then
        local all_open=1
        for n in $(nodes); do port_open "$(port_of "$n")" || all_open=0; done
        if ((all_open)); then
          log "reusing the running $BROKERS-node cluster (Kafka $KAFKA_VERSION)"
          bootstrap_all
          return 0
        fi
      fi
      for n in "${stopped[@]}"; do log "starting stopped node $n"; start_node "$n"; done
      wait_ready $(nodes)
      log "$BROKERS-node cluster ready in $(($(now) - t0))s"
      bootstrap_all
      return 0
    fi
  fi
  # nothing runs: a fresh cluster
  BROKERS=$want PARTITIONS=$parts PORT_BASE=${KAFKA_PORT:-9092} CONTROLLER_PORT_BASE=${KAFKA_CONTROLLER_PORT:-19093} SECURE=$secure
  for n in $(nodes); do
    for p in $(port_of "$n") $(cport_of "$n") $( ((SECURE)) && secure_port_of "$n"); do
      if port_open "$p"; then die "port 127.0.0.1:$p is in use by another process (not a broker of $RUN); free it or set KAFKA_PORT/KAFKA_CONTROLLER_PORT"; fi
    done
  done
  # a random Kafka Uuid (base64url of 16 bytes); like Kafka's own, never one starting with "-",
  # which the storage tool would read as an option
  CLUSTER_ID=-
  while [[ $CLUSTER_ID == -* ]]; do CLUSTER_ID=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'); done
  rm -rf "$RUN" && mkdir -p "$RUN"
  printf 'BROKERS=%s\nPARTITIONS=%s\nPORT_BASE=%s\nCONTROLLER_PORT_BASE=%s\nCLUSTER_ID=%s\nSECURE=%s\n' \
    "$BROKERS" "$PARTITIONS" "$PORT_BASE" "$CONTROLLER_PORT_BASE" "$CLUSTER_ID" "$SECURE" >"$STATE"
  log "starting a $BROKERS-node Kafka $KAFKA_VERSION cluster in $RUN"
  if ((SECURE)); then
    make_tls
    log "KAFKA_SECURE: SASL_SSL on $(secure_bootstrap), CA $RUN/tls/ca.pem, user $SECURE_USER"
  fi
  for n in $(nodes); do render_config "$n"; done
  format_all
  for n in $(nodes); do start_node "$n"; done
  wait_ready $(nodes)
  log "$BROKERS-node cluster ready in $(($(now) - t0))s"
  bootstrap_all
}

cmd_down() {
  lock
  if have_state; then
    load_state
    stop_nodes "$STOP_TIMEOUT" 1 $(nodes) # the data goes: no need to wait for clean shutdowns
  fi
  rm -rf "$RUN"
  log "stopped; removed $RUN (the jars stay in $CACHE/$KAFKA_VERSION)"
}

cmd_status() {
  load_state
  local n pid state bad=0
  printf 'Kafka %s, %s node(s), cluster id %s, bootstrap %s\n' "$KAFKA_VERSION" "$BROKERS" "$CLUSTER_ID" "$(bootstrap_all)"
  for n in $(nodes); do
    pid=$(pid_of "$n" || true)
    if ! alive "$n"; then state=stopped pid=-; bad=1
    elif paused "$n"; then state=paused; bad=1
    elif port_open "$(port_of "$n")"; then state=running
    else state=starting; bad=1; fi
    printf 'node %s  %-8s pid %-8s 127.0.0.1:%s  %s/logs/server.log\n' "$n" "$state" "$pid" "$(port_of "$n")" "$(node_dir "$n")"
  done
  ((bad == 0)) || exit 3
}

cmd_kill() {
  load_state; check_node_arg "${1:-}"
  local n=$1 pid
  if ! alive "$n"; then log "node $n is not running"; return 0; fi
  pid=$(pid_of "$n")
  kill -KILL "$pid"
  for _ in $(seq 50); do alive "$n" || break; sleep 0.1; done
  if alive "$n"; then die "node $n (pid $pid) survived SIGKILL"; fi
  rm -f "$(node_dir "$n")/pid"
  log "killed node $n (pid $pid)"
}

cmd_stop() {
  load_state; check_node_arg "${1:-}"
  lock
  alive "$1" || { log "node $1 is not running"; return 0; }
  stop_nodes "$STOP_TIMEOUT" 5 "$1"
  log "stopped node $1"
}

cmd_start() {
  load_state; check_node_arg "${1:-}"
  lock
  check_java
  local n=$1 t0
  t0=$(now)
  if alive "$n"; then
    if paused "$n"; then kill -CONT "$(pid_of "$n")"; log "node $n was paused: resumed"; else log "node $n is already running"; fi
  else
    start_node "$n"
  fi
  wait_ready "$n"
  log "node $n up in $(($(now) - t0))s"
}

cmd_stop_all() {
  load_state
  lock
  stop_nodes "$STOP_TIMEOUT" 5 $(nodes)
  log "stopped all $BROKERS node(s); data kept in $RUN"
}

cmd_start_all() {
  load_state
  lock
  check_java
  local n t0
  t0=$(now)
  for n in $(nodes); do
    if ! alive "$n"; then start_node "$n"
    elif paused "$n"; then kill -CONT "$(pid_of "$n")"; fi
  done
  wait_ready $(nodes)
  log "$BROKERS node(s) up in $(($(now) - t0))s"
}

cmd_signal() { # cmd_signal SIG VERB NODE
  load_state; check_node_arg "${3:-}"
  alive "$3" || die "node $3 is not running"
  kill "-$1" "$(pid_of "$3")"
  log "$2 node $3"
}

# cmd_leader TOPIC PARTITION: TopicCommand --describe, parsed. The describe also asks the active
# controller (for reassignments), so it fails while the controller quorum elects a new leader: it
# is retried until KAFKA_LEADER_TIMEOUT. Metadata can lag a killed leader by the broker session
# timeout (broker.session.timeout.ms, 9 s): poll.
cmd_leader() {
  [[ $# -eq 2 && $2 =~ ^[0-9]+$ ]] || die "usage: kafka.sh leader TOPIC PARTITION"
  load_state
  local topic=$1 part=$2 out rc leader deadline
  deadline=$(($(now) + ${KAFKA_LEADER_TIMEOUT:-20}))
  while :; do
    rc=0
    out=$(timeout 30 "$JAVA" "${TOOL_JVM_OPTS[@]}" -cp "$LIBS/*" org.apache.kafka.tools.TopicCommand \
      --bootstrap-server "$(bootstrap_live)" --command-config "$(admin_config)" --describe --topic "$topic" 2>&1) || rc=$?
    # partition lines: "\tTopic: T\tPartition: P\tLeader: L\tReplicas: ...\tIsr: ..."
    leader=$(awk -F'\t' -v t="$topic" -v p="$part" '
      { tt = ""; pp = ""; l = "" }
      { for (i = 1; i <= NF; i++) {
          if ($i ~ /^ *Topic: /) { tt = $i; sub(/^ *Topic: /, "", tt) }
          if ($i ~ /^Partition: /) { pp = $i; sub(/^Partition: /, "", pp) }
          if ($i ~ /^Leader: /) { l = $i; sub(/^Leader: /, "", l) } } }
      tt == t && pp == p && l != "" { print l; exit }' <<<"$out")
    if [[ -n $leader ]]; then
      [[ $leader =~ ^[0-9]+$ ]] || die 3 "partition $topic-$part has no leader ($leader)"
      printf '%s\n' "$leader"
      return 0
    fi
    if ((rc == 0)) || grep -q 'does not exist' <<<"$out"; then die 4 "no partition $part of topic $topic"; fi
    if (($(now) >= deadline)); then
      printf '%s\n' "$out" | grep -v '^\s*at ' >&2
      die "describing topic $topic failed"
    fi
    sleep 0.5
  done
}

secure_bootstrap() {
  local n out=
  for n in $(nodes); do out+=${out:+,}127.0.0.1:$(secure_port_of "$n"); done
  printf '%s\n' "$out"
}

need_secure() {
  load_state
  ((SECURE)) || die 2 "the Kafka cluster of $RUN was set up without KAFKA_SECURE=1: no SASL_SSL listener"
}

cmd_run_class() {
  [[ $# -ge 1 ]] || die "usage: kafka.sh run-class MAIN_CLASS [ARGS...]"
  if ! fetched; then lock; fetch; exec 9>&-; fi
  run_tool "$@"
}

usage() { sed -n '3,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit "${1:-1}"; }

cmd=${1:-}
shift || true
case $cmd in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  bootstrap) load_state; bootstrap_all ;;
  kill) cmd_kill "$@" ;;
  stop) cmd_stop "$@" ;;
  start) cmd_start "$@" ;;
  stop-all) cmd_stop_all ;;
  start-all) cmd_start_all ;;
  pause) cmd_signal STOP paused "$@" ;;
  resume) cmd_signal CONT resumed "$@" ;;
  leader) cmd_leader "$@" ;;
  run-class) cmd_run_class "$@" ;;
  secure-bootstrap) need_secure; secure_bootstrap ;;
  ca-file) need_secure; printf '%s\n' "$RUN/tls/ca.pem" ;;
  -h | --help | help) usage 0 ;;
  *) usage 1 ;;
esac
