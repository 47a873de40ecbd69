# shellcheck shell=bash
# Kafka 4.1.1, one KRaft node acting as broker and controller, jars resolved from Maven Central.

KAFKA_VERSION=4.1.1
KAFKA_HOME="$TRIBUTARY_CACHE/kafka-$KAFKA_VERSION"
KAFKA_STATE="$TRIBUTARY_STATE/kafka"
# Fixed so the formatted data directory stays valid across restarts (base64url of 16 bytes).
KAFKA_CLUSTER_ID=dHJpYnV0YXJ5LWxvY2FsMQ
TRIBUTARY_KAFKA_CONTROLLER="${TRIBUTARY_KAFKA_CONTROLLER:-127.0.0.1:9093}"
read -r KAFKA_HOST KAFKA_PORT < <(first_hostport "$KAFKA_BROKERS")
read -r KAFKA_CONTROLLER_HOST KAFKA_CONTROLLER_PORT < <(first_hostport "$TRIBUTARY_KAFKA_CONTROLLER")
KAFKA_JAVA=""

kafka_address() { printf '%s:%s\n' "$KAFKA_HOST" "$KAFKA_PORT"; }
kafka_env() { printf 'KAFKA_BROKERS\n'; }
# Generous: a broker with many partitions on disk loads them all before it answers.
kafka_timeout() { printf '180\n'; }
kafka_logs() { printf '%s\n' "$KAFKA_STATE/server.log" "$KAFKA_STATE/kafka.out"; }
kafka_pid() { live_pid kafka kafka.Kafka; }
kafka_answers() { port_open "$KAFKA_HOST" "$KAFKA_PORT"; }

# The port opens a moment before the broker has caught up with its metadata; the log line is
# written once it has, and only then do clients get answers instead of timeouts.
kafka_ready() {
  kafka_answers && grep -qF 'Kafka Server started' "$KAFKA_STATE/server.log" 2>/dev/null
}

kafka_install() {
  KAFKA_JAVA=$(need_java 17) || die "Kafka needs Java 17 or newer"
  # Resolved already, from this very pom (editing the pom below re-resolves).
  if [[ -f $KAFKA_HOME/.complete ]] && cmp -s <(kafka_write_pom) "$KAFKA_HOME/pom.xml"; then
    return 0
  fi
  need_cmd mvn maven
  info "resolving Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_HOME/lib"
  mkdir -p "$KAFKA_HOME"
  kafka_write_pom >"$KAFKA_HOME/pom.xml"
  rm -rf "${KAFKA_HOME:?}/lib" "$KAFKA_HOME/.complete"
  if ! (cd "$KAFKA_HOME" && mvn -q -B dependency:copy-dependencies \
    -DoutputDirectory=lib -DincludeScope=runtime) >"$KAFKA_HOME/mvn.log" 2>&1; then
    log_tail "$KAFKA_HOME/mvn.log" 30
    die "could not resolve the Kafka jars (log: $KAFKA_HOME/mvn.log)"
  fi
  touch "$KAFKA_HOME/.complete"
}

# A throwaway project whose only purpose is its runtime classpath.
# - kafka-tools brings TopicCommand (`scripts/stack.sh kafka-topics`); without Connect's runtime,
#   which it drags in (Jetty, Jersey...) for commands we do not use.
# - slf4j-api 2.x is pinned because Kafka asks for 1.7, which cannot see the log4j-slf4j2
#   binding: every Kafka log line would silently go to the no-op logger.
kafka_write_pom() {
  cat <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.tributary</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version>
      <exclusions><exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion></exclusions>
    </dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.16</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>3.8.1</version></plugin>
    </plugins>
  </build>
</project>
EOF
}

kafka_write_config() {
  cat >"$KAFKA_STATE/server.properties" <<EOF
# Written by scripts/stack.sh on every start: edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$KAFKA_CONTROLLER_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_CONTROLLER_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_STATE/data
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF
  kafka_write_log4j "$KAFKA_STATE/log4j2.properties" "$KAFKA_STATE/server.log"
}

# log4j2 configuration: everything at INFO to one file, the chatty request/state loggers at WARN.
# Without a file argument it logs WARN and above to stderr (for the command-line tools).
kafka_write_log4j() {
  local dest=$1 file=${2:-}
  if [[ -z $file ]]; then
    cat >"$dest" <<'EOF'
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
    return
  fi
  cat >"$dest" <<EOF
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $file
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
EOF
}

# Formats the data directory once. The controller address is part of what gets formatted
# (the standalone voter set), so a changed address means a fresh data directory.
kafka_format() {
  local data=$KAFKA_STATE/data marker=$KAFKA_STATE/data/.tributary-controller
  local controller="$KAFKA_CONTROLLER_HOST:$KAFKA_CONTROLLER_PORT"
  if [[ -f $data/meta.properties && -f $marker && $(<"$marker") == "$controller" ]]; then
    return 0
  fi
  if [[ -d $data ]]; then
    warn "kafka: controller address changed or data directory incomplete; starting with empty data"
    rm -rf "$data"
  fi
  if ! "$KAFKA_JAVA" -Dlog4j2.configurationFile="$KAFKA_STATE/log4j2-tools.properties" \
    -cp "$KAFKA_HOME/lib/*" kafka.tools.StorageTool format -t "$KAFKA_CLUSTER_ID" \
    -c "$KAFKA_STATE/server.properties" --standalone >"$KAFKA_STATE/format.log" 2>&1; then
    log_tail "$KAFKA_STATE/format.log"
    die "kafka: formatting the storage failed (log: $KAFKA_STATE/format.log)"
  fi
  printf '%s\n' "$controller" >"$marker"
}

kafka_start() {
  mkdir -p "$KAFKA_STATE"
  if port_open "$KAFKA_CONTROLLER_HOST" "$KAFKA_CONTROLLER_PORT"; then
    die "kafka: the controller port $KAFKA_CONTROLLER_HOST:$KAFKA_CONTROLLER_PORT is taken by another process"
  fi
  kafka_write_config
  kafka_write_log4j "$KAFKA_STATE/log4j2-tools.properties"
  kafka_format
  # Keep the previous run's log for post-mortems; readiness looks at the fresh one only.
  if [[ -f $KAFKA_STATE/server.log ]]; then mv -f "$KAFKA_STATE/server.log" "$KAFKA_STATE/server.log.1"; fi
  spawn kafka "$KAFKA_STATE/kafka.out" "$KAFKA_STATE" "$KAFKA_JAVA" -Xmx512m -XX:+ExitOnOutOfMemoryError \
    -Dlog4j2.configurationFile="$KAFKA_STATE/log4j2.properties" \
    -cp "$KAFKA_HOME/lib/*" kafka.Kafka "$KAFKA_STATE/server.properties"
}

kafka_stop() { stop_pid "$1"; }

# `scripts/stack.sh kafka-topics --list` and friends: Kafka's TopicCommand against the stack.
kafka_topics() {
  kafka_install
  mkdir -p "$KAFKA_STATE"
  kafka_write_log4j "$KAFKA_STATE/log4j2-tools.properties"
  exec "$KAFKA_JAVA" -Dlog4j2.configurationFile="$KAFKA_STATE/log4j2-tools.properties" \
    -cp "$KAFKA_HOME/lib/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BROKERS" "$@"
}
