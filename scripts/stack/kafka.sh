#!/usr/bin/env bash
# A local Apache Kafka: one KRaft node that is both broker and controller.
#
#   scripts/stack/kafka.sh up|down|clean|status
#
#   up      fetch the jars (once), format the storage (once), start the node
#           (or just verify it if it is already running) and create the topic
#   down    SIGTERM the node and wait for it to exit (SIGKILL after 30 s)
#   clean   down, then delete the node's data and config
#   status  exit 0 if the node runs and its port accepts connections
#
# Environment:
#   KAFKA_VERSION          Apache Kafka version (default 4.1.1; 4.0.0 refused)
#   KAFKA_PORT             client listener on 127.0.0.1 (default 59092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener (default 59093)
#   KAFKA_TOPIC            topic to create (default campaign-events)
#   KAFKA_PARTITIONS       its partition count (default 12), replication 1
#   CAMPAIGN_LIVE_CACHE    jar cache root (default ${XDG_CACHE_HOME:-~/.cache}/campaign-live)
#   RUN_DIR                runtime state root (default <repo>/.run)
#   KAFKA_JVM_OPTS         extra JVM options for the node
#
# Layout: jars in $CAMPAIGN_LIVE_CACHE/kafka-<version>/libs (from Maven
# Central, through scripts/stack/kafka-pom.xml); config, data and pid file in
# $RUN_DIR/kafka; the node's log in $RUN_DIR/log/kafka.log.
set -euo pipefail
LOG_PREFIX=kafka
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
STACK_DIR="$REPO_ROOT/scripts/stack"

KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_PORT="${KAFKA_PORT:-59092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-59093}"
KAFKA_TOPIC="${KAFKA_TOPIC:-campaign-events}"
KAFKA_PARTITIONS="${KAFKA_PARTITIONS:-12}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
BOOTSTRAP="127.0.0.1:$KAFKA_PORT"

CACHE_ROOT="${CAMPAIGN_LIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/campaign-live}"
KAFKA_CACHE="$CACHE_ROOT/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_CACHE/libs"
KAFKA_POM="$STACK_DIR/kafka-pom.xml"

KAFKA_DIR="$RUN_DIR/kafka"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_CONF="$KAFKA_DIR/server.properties"
KAFKA_PIDFILE="$KAFKA_DIR/kafka.pid"
# What the running node was started with (version and jar dir), so that
# "up"/"status" from a shell with another KAFKA_VERSION or cache still use
# the running node's tools.
KAFKA_NODE_INFO="$KAFKA_DIR/node.info"
KAFKA_LOG="$LOG_DIR/kafka.log"          # written by log4j2 (see write_log4j_configs)
KAFKA_OUT="$LOG_DIR/kafka.out"          # the JVM's own stdout/stderr (crashes, -XX warnings)

# Kafka 4.0.0 removed the JoinGroup/SyncGroup versions that segmentio/kafka-go
# sends for consumer groups; 4.0.1 and 4.1+ accept them again.
[[ $KAFKA_VERSION == 4.0.0 ]] && die "Kafka 4.0.0 breaks kafka-go consumer groups; use 4.1.1 or later"

# JVM options for short-lived admin tools (StorageTool, TopicCommand): C1 only
# and the serial collector start a small JVM fastest (TopicCommand: 0.50 s
# instead of 0.64 s); they never run long enough to miss C2.
TOOL_JVM_OPTS=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto -Xms32m -Xmx256m
  -Djava.awt.headless=true "-Dlog4j2.configurationFile=$KAFKA_DIR/log4j2-tools.properties")

# JVM options for the node itself: Kafka's own defaults (G1, short pauses)
# with a heap sized for a dev box. Measured warm start (down, then up until
# the topic is verified) on 2 cores: G1 2.5 s, SerialGC 2.5 s, ParallelGC
# 2.5 s, TieredStopAtLevel=1 2.0-2.2 s. The 0.4 s of C1-only is not worth
# capping the broker's throughput under load tests, so the full JIT stays.
NODE_JVM_OPTS=(-Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent
  -Xshare:auto -Djava.awt.headless=true
  # An IPv4 socket bound to 127.0.0.1 rather than an IPv6 one bound to
  # ::ffff:127.0.0.1: the same reach, but what ss/netstat show is plain.
  -Djava.net.preferIPv4Stack=true
  "-Dlog4j2.configurationFile=$KAFKA_DIR/log4j2.properties"
  "-Dkafka.logs.dir=$LOG_DIR")

# ---------------------------------------------------------------------------
# Jars. The marker holds a hash of the pom and version: the cache counts as
# complete only if it was filled by this exact pom, so editing the pom
# refetches. A lock keeps two concurrent runs from filling it at once.
# ---------------------------------------------------------------------------
fetch_jars() {
  local want marker="$KAFKA_CACHE/.complete"
  want="$KAFKA_VERSION $(sha256sum <"$KAFKA_POM" | cut -c1-16)"
  if [[ -f $marker && $(<"$marker") == "$want" ]]; then
    return
  fi
  mkdir -p "$KAFKA_CACHE"
  exec 9>"$KAFKA_CACHE/.lock"
  flock 9
  if [[ -f $marker && $(<"$marker") == "$want" ]]; then   # another run did it
    exec 9>&-
    return
  fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS"
  local tmp="$KAFKA_CACHE/libs.tmp"
  rm -rf "$tmp" "$marker"
  if ! mvn -q -B -f "$KAFKA_POM" "-Dkafka.version=$KAFKA_VERSION" \
        dependency:copy-dependencies "-DoutputDirectory=$tmp" \
        >"$KAFKA_CACHE/mvn.log" 2>&1; then
    tail -n 30 "$KAFKA_CACHE/mvn.log" >&2
    die "maven could not resolve Kafka $KAFKA_VERSION (full log: $KAFKA_CACHE/mvn.log)"
  fi
  [[ -f $tmp/kafka_2.13-$KAFKA_VERSION.jar ]] || die "kafka_2.13-$KAFKA_VERSION.jar missing after download"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
  echo "$want" >"$marker"
  exec 9>&-
}

# kafka_tool CLASS ARGS...: run an admin tool class on the cached classpath.
kafka_tool() {
  java "${TOOL_JVM_OPTS[@]}" -cp "$KAFKA_LIBS/*" "$@"
}

# ---------------------------------------------------------------------------
# Config. Rewritten at every start so ports follow the environment (changing
# KAFKA_CONTROLLER_PORT after the first format needs a clean: the KRaft voter
# set stored at format time names the controller's endpoint).
# ---------------------------------------------------------------------------
write_configs() {
  mkdir -p "$KAFKA_DIR"
  cat >"$KAFKA_CONF" <<EOF
# Written by scripts/stack/kafka.sh; edits are overwritten.
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
log.dirs=$KAFKA_DATA

# One node: every internal topic has a single replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Consumers join groups without the 3 s wait for more members.
group.initial.rebalance.delay.ms=0
num.partitions=1
# Topics are created by scripts (this one) and services, never by a typo.
auto.create.topics.enable=false
EOF

  # The node logs at INFO to one size-rolled file, never to the console.
  cat >"$KAFKA_DIR/log4j2.properties" <<'EOF'
# Written by scripts/stack/kafka.sh; edits are overwritten.
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/kafka.log
appender.file.filePattern = ${sys:kafka.logs.dir}/kafka.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
# Per-request logging is far too chatty at INFO.
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF

  # Admin tools: warnings and errors only, on stderr.
  cat >"$KAFKA_DIR/log4j2-tools.properties" <<'EOF'
# Written by scripts/stack/kafka.sh; edits are overwritten.
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
}

# Format the storage once. The cluster id is kept beside the data so a
# re-format after a partial failure reuses it.
format_storage() {
  [[ -f $KAFKA_DATA/meta.properties ]] && return
  local idfile="$KAFKA_DIR/cluster-id"
  if [[ ! -s $idfile ]]; then
    kafka_tool kafka.tools.StorageTool random-uuid >"$idfile"
  fi
  log "formatting storage in $KAFKA_DATA (cluster $(<"$idfile"))"
  kafka_tool kafka.tools.StorageTool format --standalone \
    -t "$(<"$idfile")" -c "$KAFKA_CONF" >>"$KAFKA_OUT" 2>&1 \
    || fail_with_log "storage format failed" "$KAFKA_OUT"
}

fail_with_log() {
  local file="${2:-$KAFKA_LOG}"
  log "$1; last lines of $file:"
  tail -n 40 "$file" >&2 2>/dev/null || true
  exit 1
}

# Is the pid file ours: a live JVM running kafka.Kafka with our config?
# (Guards against signalling an unrelated process that reused the pid.)
kafka_running() {
  pid_alive "$KAFKA_PIDFILE" || return 1
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$(<"$KAFKA_PIDFILE")/cmdline" 2>/dev/null)" || return 1
  [[ $cmdline == *"kafka.Kafka $KAFKA_CONF"* ]]
}

start_node() {
  if port_open "$KAFKA_PORT" || port_open "$KAFKA_CONTROLLER_PORT"; then
    die "127.0.0.1:$KAFKA_PORT or :$KAFKA_CONTROLLER_PORT is taken by another process; set KAFKA_PORT/KAFKA_CONTROLLER_PORT"
  fi
  log "starting Kafka $KAFKA_VERSION on $BOOTSTRAP"
  local extra=()
  # shellcheck disable=SC2206  # KAFKA_JVM_OPTS is a space-separated list
  [[ -n ${KAFKA_JVM_OPTS:-} ]] && extra=($KAFKA_JVM_OPTS)
  # setsid: its own session, so a Ctrl-C in the terminal that ran "up" does
  # not reach the node. No fork happens (this background child is not a
  # process-group leader), so $! is the JVM's pid. All output goes to files:
  # an inherited stdout would keep a caller's pipe open forever, and the
  # inherited lock fd (8) would keep the lock held (see lock_component).
  setsid java "${NODE_JVM_OPTS[@]}" "${extra[@]}" -cp "$KAFKA_LIBS/*" \
    kafka.Kafka "$KAFKA_CONF" </dev/null >>"$KAFKA_OUT" 2>&1 8>&- &
  echo $! >"$KAFKA_PIDFILE"
  printf '%s\n%s\n' "$KAFKA_VERSION" "$KAFKA_LIBS" >"$KAFKA_NODE_INFO"
}

# Point KAFKA_VERSION/KAFKA_LIBS at what the running node uses.
use_running_node_info() {
  [[ -f $KAFKA_NODE_INFO ]] || return 0
  { read -r KAFKA_VERSION; read -r KAFKA_LIBS; } <"$KAFKA_NODE_INFO"
}

# Wait for the listener, then let the admin client talk to the node: creating
# the topic (if missing) is the proof that the broker answers.
wait_and_create_topic() {
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  until port_open "$KAFKA_PORT"; do
    kafka_running || fail_with_log "the node exited during start-up"
    ((SECONDS < deadline)) || fail_with_log "port $KAFKA_PORT not open after ${KAFKA_START_TIMEOUT}s"
    sleep 0.2
  done
  # The admin client retries until the node has caught up with its metadata;
  # bound that by the time left.
  local left=$((deadline - SECONDS))
  ((left >= 10)) || left=10
  local props="$KAFKA_DIR/admin.properties"
  printf 'default.api.timeout.ms=%d\nrequest.timeout.ms=%d\n' $((left * 1000)) $((left * 1000)) >"$props"
  # In parallel (a fresh cluster only): make the broker create its consumer
  # offsets topic now. It is created on the first FindCoordinator; until it is
  # there a kafka-go reader's first JoinGroup fails and the reader sleeps
  # JoinGroupBackoff (5 s) before retrying, so every fresh CI cluster would
  # pay 5 s at its first consumer. Describing a group that does not exist
  # sends FindCoordinator and waits for the coordinator (it then reports
  # "group not found", which is expected).
  local warmup=""
  if [[ ! -d $KAFKA_DATA/__consumer_offsets-0 ]]; then
    kafka_tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
      --bootstrap-server "$BOOTSTRAP" --command-config "$props" \
      --describe --group campaign-live-warmup >/dev/null 2>&1 &
    warmup=$!
  fi
  kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
    --command-config "$props" --create --if-not-exists --topic "$KAFKA_TOPIC" \
    --partitions "$KAFKA_PARTITIONS" --replication-factor 1 >/dev/null \
    || fail_with_log "the broker did not answer the admin client"
  if [[ -n $warmup ]]; then
    wait "$warmup" || true
  fi
}

# ---------------------------------------------------------------------------
cmd_up() {
  command -v java >/dev/null || die "java not found (apt-get install openjdk-17-jre-headless)"
  if kafka_running; then
    use_running_node_info
  else
    rm -f "$KAFKA_PIDFILE"
    fetch_jars
    write_configs
    format_storage
    start_node
  fi
  wait_and_create_topic
  log "ready: $BOOTSTRAP, topic $KAFKA_TOPIC"
}

cmd_down() {
  if ! kafka_running; then
    rm -f "$KAFKA_PIDFILE" "$KAFKA_NODE_INFO"
    return
  fi
  local pid
  pid="$(<"$KAFKA_PIDFILE")"
  log "stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 300; i++)); do           # 30 s in 0.1 s steps
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still running after 30s; SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$KAFKA_PIDFILE" "$KAFKA_NODE_INFO"
}

cmd_clean() {
  cmd_down
  log "removing $KAFKA_DIR"
  rm -rf "$KAFKA_DIR"
}

cmd_status() {
  if kafka_running && port_open "$KAFKA_PORT"; then
    use_running_node_info
    echo "kafka: up on $BOOTSTRAP (pid $(<"$KAFKA_PIDFILE"), Kafka $KAFKA_VERSION)"
  else
    echo "kafka: down"
    return 1
  fi
}

case "${1:-}" in
  up) lock_component kafka; cmd_up ;;
  down) lock_component kafka; cmd_down ;;
  clean) lock_component kafka; cmd_clean ;;
  status) cmd_status ;;
  *) usage_verbs "$0" ;;
esac
