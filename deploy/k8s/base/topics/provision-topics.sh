#!/bin/sh
# Creates every topic listed in topics.txt on a Kafka cluster, with the partitions, replication and
# retention of its kind, and checks that topics which already existed match. Run by the topic Job
# (deploy/k8s) and the `topics` one-shot of deploy/compose.yaml with Kafka's own CLI (apache/kafka).
#
#   provision-topics.sh          create what is missing, align the settings of what exists
#   provision-topics.sh wait     only wait until every listed topic exists (a worker's init step)
#
# Settings (environment): KAFKA_BOOTSTRAP_SERVERS (required), CRM_TOPIC_PARTITIONS (3),
# TOPIC_REPLICATION_FACTOR (3), TOPIC_MIN_INSYNC_REPLICAS (2), KAFKA_BIN (/opt/kafka/bin),
# TOPIC_LIST (topics.txt beside this script).
set -eu

: "${KAFKA_BOOTSTRAP_SERVERS:?KAFKA_BOOTSTRAP_SERVERS must name the brokers}"
BIN=${KAFKA_BIN:-/opt/kafka/bin}
PARTITIONS=${CRM_TOPIC_PARTITIONS:-3}
REPLICATION=${TOPIC_REPLICATION_FACTOR:-3}
MIN_ISR=${TOPIC_MIN_INSYNC_REPLICAS:-2}
LIST=${TOPIC_LIST:-$(dirname "$0")/topics.txt}
MODE=${1:-create}

# </dev/null: the loop below reads topics.txt on standard input, which no command may swallow.
topics() {
  "$BIN/kafka-topics.sh" --bootstrap-server "$KAFKA_BOOTSTRAP_SERVERS" "$@" </dev/null
}

# Retention -1 (no time or size limit) on the domain topics: `crm replay` reads them from offset zero,
# so an event deleted by retention would be missing from every rebuild (see deploy/README.md).
settings_of() {
  case $1 in
    domain) echo "$PARTITIONS cleanup.policy=delete,retention.ms=-1,retention.bytes=-1,min.insync.replicas=$MIN_ISR" ;;
    view) echo "$PARTITIONS cleanup.policy=compact,min.compaction.lag.ms=0,min.insync.replicas=$MIN_ISR" ;;
    dead-letter) echo "1 cleanup.policy=delete,retention.ms=-1,retention.bytes=-1,min.insync.replicas=$MIN_ISR" ;;
    *) return 1 ;;
  esac
}

# Waiting lists the cluster's topics once a round (one JVM start, not one per topic).
if [ "$MODE" = wait ]; then
  while :; do
    existing=$(topics --list 2>/dev/null || true)
    missing=$(grep -v -e '^#' -e '^[[:space:]]*$' "$LIST" | while read -r name _; do
      echo "$existing" | grep -qx -- "$name" || echo "$name"
    done)
    [ -z "$missing" ] && break
    echo "waiting for topics: $(echo "$missing" | tr '\n' ' ')"
    sleep 2
  done
  echo "topics ready (wait)"
  exit 0
fi

failed=0
while read -r name kind rest; do
  case $name in ''|'#'*) continue ;; esac
  if ! settings=$(settings_of "$kind") || [ -n "$rest" ]; then
    echo "topics.txt: cannot read the line for $name ($kind $rest)" >&2
    exit 2
  fi
  partitions=${settings%% *}
  configs=${settings#* }

  # shellcheck disable=SC2046 # one --config per setting, split on the commas on purpose
  topics --create --if-not-exists --topic "$name" --partitions "$partitions" \
    --replication-factor "$REPLICATION" $(printf -- '--config %s ' $(echo "$configs" | tr ',' ' '))
  # A topic that existed before (an older run, or a worker that got there first) gets the same settings.
  "$BIN/kafka-configs.sh" --bootstrap-server "$KAFKA_BOOTSTRAP_SERVERS" --entity-type topics \
    --entity-name "$name" --alter --add-config "$configs" </dev/null

  # Partitions and replicas are never changed here: more partitions would move customers' keys to
  # other partitions (their events would lose their order), and more replicas is a reassignment.
  description=$(topics --describe --topic "$name")
  have_partitions=$(echo "$description" | sed -n 's/.*PartitionCount: *\([0-9]*\).*/\1/p' | head -n 1)
  have_replication=$(echo "$description" | sed -n 's/.*ReplicationFactor: *\([0-9]*\).*/\1/p' | head -n 1)
  if [ "$have_partitions" != "$partitions" ] || [ "$have_replication" != "$REPLICATION" ]; then
    echo "topic $name has $have_partitions partitions and replication factor $have_replication;" \
      "wanted $partitions and $REPLICATION (fix it by hand: kafka-reassign-partitions.sh)" >&2
    failed=1
  fi
done <"$LIST"

if [ "$failed" -ne 0 ]; then
  exit 1
fi
echo "topics ready"
