#!/usr/bin/env bats
# The shipped monitoring (monitoring/) proven on the real cluster: Debian's
# Prometheus and Alertmanager scrape and route for scripts/kafka's three
# controllers and three brokers and for a txstream pipeline on them
# (txgen | kpub; ksub | jagg | kpub), with a webhook receiver of the
# test's own. make check-kafka runs this file (TXS_KAFKA=kafka).
#
# The configuration is the shipped one, derived by
# tests/helpers/monitoring_config.py: targets rewritten to the local
# ports, and every duration divided by FACTOR, so that the rules and
# routes run on a clock FACTOR times faster (a `for: 5m` holds for 20 s,
# a [10m] range covers 40 s), txstream's programs scraped every second
# with it; the Kafka nodes are scraped every 3 s only (15 s divided by
# SCRAPE_FACTOR): six JVMs share the two cores, each JMX exporter scrape
# costs one tens of milliseconds of CPU, hundreds before its JIT warms
# up, and scraped every second they could not keep up. The pipeline's
# own intervals follow the rules' clock: jagg checkpoints every 10 s /
# FACTOR. FACTOR is at most 15: an old checkpoint must be seen (60 s,
# then its for: of 2 minutes, plus a scrape and two evaluations) within
# the 5 minutes in which the rule still sees jagg's last reads.

# Variables come from $MON/env, which the fixture writes and setup() reads.
# shellcheck disable=SC2030,SC2031,SC2153,SC2154

load helpers

FACTOR=15
SCRAPE_FACTOR=5
# Prometheus is asked every half second, not every tenth.
# shellcheck disable=SC2034  # read by wait_until (helpers.bash)
WAIT_POLL=0.5

setup_file() {
	[ "$TXS_KAFKA" = kafka ] || { echo "tests/monitoring-kafka.bats needs TXS_KAFKA=kafka (make check-kafka)" >&2; return 1; }
	start_engine
	MON=$BATS_FILE_TMPDIR/mon
	export MON
	mkdir -p "$MON"
	"$TXS_SRCDIR/tests/helpers/kafka_admin.py" "$KAFKA_CLUSTER" reset \
		financial_transactions:5 transaction_aggregates:5 >&2 || return 1
	start_monitoring || return 1
	start_pipeline || return 1
}

teardown_file() {
	local pid
	if [ -s "${MON:-/nonexistent}/pids" ]; then
		while read -r pid; do
			kill -CONT "$pid" 2>/dev/null || true
			kill -TERM "$pid" 2>/dev/null || true
		done < "$MON/pids"
		while read -r pid; do
			wait_gone "$pid"
		done < "$MON/pids"
	fi
	stop_engine
}

# A test that failed with a stage stopped leaves it stopped: resumed.
teardown() {
	local pid
	while read -r pid; do
		kill -CONT "$pid" 2>/dev/null || true
	done < "$MON/pids"
}

setup() {
	cd "$BATS_TEST_TMPDIR" || return
	# shellcheck source=/dev/null
	. "$MON/env"
}

# --- the fixture ------------------------------------------------------

# bg NAME IN OUT COMMAND...: run COMMAND in the background, its stdin
# from IN, stdout to OUT ("-": its log), stderr to $MON/NAME.log; its PID
# kept for teardown_file and in ${NAME}_PID.
bg() {
	local name=$1 in=$2 out=$3
	shift 3
	[ "$out" != - ] || out=$MON/$name.log
	"$@" < "$in" >> "$out" 2>> "$MON/$name.log" 3>&- &
	echo $! >> "$MON/pids"
	echo "${name}_PID=$!" >> "$MON/env"
}

wait_gone() {
	local _
	for _ in $(seq 300); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
}

# The node's metrics address, from scripts/kafka status.
metrics_addr_of() {
	kafka status | awk -v n="$1" '$1 == n { print $NF }'
}

start_monitoring() {
	local prom am hook name targets _
	prom=$(free_port) am=$(free_port)
	for name in txgen pkpub ksub jagg akpub; do
		echo "PORT_$name=$(free_port)" >> "$MON/env"
	done
	# shellcheck source=/dev/null
	. "$MON/env"
	: > "$MON/webhook.ndjson"
	bg webhook /dev/null - "$TXS_SRCDIR/tests/helpers/webhook.py" "$MON/webhook.ndjson"
	for _ in $(seq 100); do
		[ -s "$MON/webhook.log" ] && break
		sleep 0.1
	done
	hook=$(head -n 1 "$MON/webhook.log")
	targets=$(jq -n -c \
		--arg prom "127.0.0.1:$prom" --arg am "127.0.0.1:$am" \
		--arg txgen "127.0.0.1:$PORT_txgen" --arg pkpub "127.0.0.1:$PORT_pkpub" \
		--arg ksub "127.0.0.1:$PORT_ksub" --arg jagg "127.0.0.1:$PORT_jagg" \
		--arg akpub "127.0.0.1:$PORT_akpub" \
		--arg k1 "$(metrics_addr_of kafka-1)" --arg k2 "$(metrics_addr_of kafka-2)" \
		--arg k3 "$(metrics_addr_of kafka-3)" --arg c1 "$(metrics_addr_of controller-1)" \
		--arg c2 "$(metrics_addr_of controller-2)" --arg c3 "$(metrics_addr_of controller-3)" \
		'{"localhost:9090": $prom, "alertmanager:9093": $am,
		  "producer:9100": $txgen, "producer:9101": $pkpub,
		  "aggregator:9102": $ksub, "aggregator:9103": $jagg, "aggregator:9104": $akpub,
		  "kafka-1:7071": $k1, "kafka-2:7071": $k2, "kafka-3:7071": $k3,
		  "controller-1:7071": $c1, "controller-2:7071": $c2, "controller-3:7071": $c3}')
	SCRAPE_S=$("$PY" "$TXS_SRCDIR/tests/helpers/monitoring_config.py" "$TXS_SRCDIR" "$MON/conf" \
		"$FACTOR" "$SCRAPE_FACTOR" "$targets" "http://127.0.0.1:$hook") || return 1
	promtool check config "$MON/conf/prometheus.yml" >&2 || return 1
	amtool check-config "$MON/conf/alertmanager.yml" >&2 || return 1
	{
		echo "PROM=127.0.0.1:$prom"
		echo "AM=127.0.0.1:$am"
		echo "SCRAPE_S=$SCRAPE_S"
		echo "KAFKA_DIR=$KAFKA_DIR"
		echo "BROKERS=$KAFKA_CLUSTER"
	} >> "$MON/env"
	# Alertmanager alone (no cluster peers, so no gossip port).
	bg alertmanager /dev/null - prometheus-alertmanager --config.file="$MON/conf/alertmanager.yml" \
		--storage.path="$MON/am" --web.listen-address="127.0.0.1:$am" --cluster.listen-address=
	# Prometheus re-sends a firing alert every minute: the same clock.
	bg prometheus /dev/null - prometheus --config.file="$MON/conf/prometheus.yml" --storage.tsdb.path="$MON/tsdb" \
		--web.listen-address="127.0.0.1:$prom" --rules.alert.resend-delay="$((60 / FACTOR))s"
	for _ in $(seq 300); do
		curl -sf "http://127.0.0.1:$prom/-/ready" > /dev/null &&
			curl -sf "http://127.0.0.1:$am/-/ready" > /dev/null && return 0
		sleep 0.1
	done
	echo "Prometheus or Alertmanager did not start:" >&2
	cat "$MON/prometheus.log" "$MON/alertmanager.log" >&2
	return 1
}

# The seed's producer (200 records a second, so that a stalled consumer's
# lag grows past the alert's 1000 in seconds) and aggregator, as
# scripts/pipeline runs them, over six merchants rather than the seed's
# three: ksub hands records on in chunks (about two a second), jagg's
# update after each names the merchants it changed, so its output grows
# with their number, and six fill the pipe's 64 KB in about a minute once
# the kpub after it stops reading (long after the no-aggregates alert
# has fired; three took two). jagg then stops reading and checkpointing.
start_pipeline() {
	# shellcheck source=/dev/null
	. "$MON/env"
	mkfifo "$MON/produce" "$MON/consume" "$MON/aggregates"
	bg TXGEN /dev/null "$MON/produce" txgen -r 200 --merchants 6 --metrics-addr "127.0.0.1:$PORT_txgen"
	bg PKPUB "$MON/produce" - kpub -b "$BROKERS" -t financial_transactions --key-field userId \
		--metrics-addr "127.0.0.1:$PORT_pkpub"
	bg KSUB /dev/null "$MON/consume" ksub -b "$BROKERS" -t financial_transactions --envelope \
		-o "@$MON/state.json" --metrics-addr "127.0.0.1:$PORT_ksub"
	bg JAGG "$MON/consume" "$MON/aggregates" jagg -g merchantId totalAmount=sum:amount \
		transactionCount=count --checkpoint "$MON/state.json" \
		--checkpoint-interval "$((10000 / FACTOR))ms" --interval 50ms \
		--metrics-addr "127.0.0.1:$PORT_jagg"
	bg AKPUB "$MON/aggregates" - kpub -b "$BROKERS" -t transaction_aggregates --key-field merchantId \
		--metrics-addr "127.0.0.1:$PORT_akpub"
}

# --- reading Prometheus, Alertmanager and the receiver ---------------

# query PROMQL: the result of an instant query, as a JSON array.
query() {
	curl -sf "http://$PROM/api/v1/query" --data-urlencode "query=$1" | jq -c '.data.result'
}

# value PROMQL: the value of a query with one result (nothing otherwise).
value() {
	query "$1" | jq -r 'if length == 1 then .[0].value[1] else empty end'
}

# value_is PROMQL VALUE: for wait_until.
value_is() {
	[ "$(value "$1")" = "$2" ]
}

# alert_is NAME STATE [MATCHERS]: an ALERTS series of NAME is in STATE.
alert_is() {
	[ "$(query "ALERTS{alertname=\"$1\",alertstate=\"$2\"${3:+,$3}}" | jq length)" -gt 0 ]
}

# quiet REGEX: no alert whose name matches is pending or firing.
quiet() {
	[ "$(query "ALERTS{alertname=~\"$1\"}" | jq length)" -eq 0 ]
}

# first_after T SELECTOR: the time of the first sample after T (Unix
# seconds) in which a series of SELECTOR is above 0, from Prometheus's
# own stored samples.
first_after() {
	query "$2[5m]" | jq -r --argjson t "$1" \
		'[.[].values[] | select(.[0] > $t and (.[1] | tonumber) > 0) | .[0]] | min // empty'
}

# delivered PATH STATUS ALERTNAME [LABEL=VALUE...]: the receiver got a
# notification on PATH with that alert in STATUS (firing, resolved).
delivered() {
	local path=$1 status=$2 name=$3 want='{}' kv
	shift 3
	for kv in "$@"; do
		want=$(jq -c --arg k "${kv%%=*}" --arg v "${kv#*=}" '. + {($k): $v}' <<<"$want")
	done
	jq -e -s --arg p "$path" --arg s "$status" --arg n "$name" --argjson want "$want" '
		[.[] | select(.path == $p) | .body.alerts[]
		 | select(.status == $s and .labels.alertname == $n)
		 | select(.labels | contains($want))] | length > 0' "$MON/webhook.ndjson" > /dev/null
}

# all_up JOB_REGEX N: N targets of those jobs answer; when not, which do not and why.
all_up() {
	value_is "count(up{job=~\"$1\"} == 1)" "$2" && return 0
	curl -sf "http://$PROM/api/v1/targets" | jq -r --arg j "^($1)\$" '.data.activeTargets[]
		| select((.labels.job | test($j)) and .health != "up")
		| "\(.labels.job) \(.labels.instance): \(.health) \(.lastError)"' >&2
	return 1
}

# show_state: what Prometheus knows of the pipeline now, for a failure.
show_state() {
	local q
	for q in 'ALERTS' 'up{job=~"txstream-.*"}' txstream_jagg_checkpoint_age_seconds \
		'rate(txstream_jagg_records_in_total[30s])' 'rate(txstream_kpub_records_out_total[30s])' \
		'sum by (instance) (txstream_ksub_consumer_lag_messages)'; do
		echo "$q: $(query "$q" | jq -c 'map([.metric.alertname // .metric.job, .metric.alertstate // .metric.instance, .value[1]])')" >&2
	done
}

# fires NAME MATCHERS SECONDS: the alert is firing within SECONDS; if not,
# what Prometheus knows.
fires() {
	wait_until "$3" alert_is "$1" firing "$2" || { show_state; return 1; }
}

# within FROM TO BOUND NAME: TO - FROM (seconds) is at most BOUND (an
# awk expression); says how long it was.
within() {
	awk -v from="$1" -v to="$2" -v name="$4" -v what="$3" "BEGIN {
		printf \"%s fired %.2f s after, bound %s = %g\\n\", name, to - from, what, $3
		exit !(to != \"\" && from != \"\" && to - from <= $3) }"
}

# settles SECONDS PROMQL VALUE: the query comes to have that one value
# within SECONDS; if not, what it had and how each node's scrape went.
settles() {
	wait_until "$1" value_is "$2" "$3" && return 0
	echo "$2: $(query "$2" | jq -c 'map(.value[1])'), not $3" >&2
	curl -sf "http://$PROM/api/v1/targets" | jq -r '.data.activeTargets[]
		| "\(.labels.job) \(.labels.instance): \(.health) \(.lastScrapeDuration) s \(.lastError)"' >&2
	return 1
}

# none_missing FILE: every metric name in FILE is in Prometheus's store;
# those that are not are left in ./missing.
none_missing() {
	curl -sf "http://$PROM/api/v1/label/__name__/values" | jq -r '.data[]' | sort > scraped
	sort "$1" | comm -23 - scraped > missing
	[ ! -s missing ]
}

# --- the tests --------------------------------------------------------

@test "monitoring on Kafka: every metric the rules and dashboards name is scraped, and the cluster is healthy" {
	# All 13 targets answer: Prometheus, Alertmanager, five programs, six nodes.
	wait_until 90 all_up '.*' 13
	# The steady state, as the brokers and controllers report it. Waited
	# for, each, since one slow JMX scrape takes a node's series away
	# until the next.
	settles 30 'sum(kafka_controller_kafkacontroller_activecontrollercount{job="kafka-controller"})' 1
	settles 30 'count(kafka_controller_kafkacontroller_activecontrollercount{job="kafka-controller"})' 3
	settles 60 'sum(kafka_server_replicamanager_underreplicatedpartitions)' 0
	settles 30 'count(kafka_server_replicamanager_underreplicatedpartitions)' 3
	settles 30 'max(kafka_controller_kafkacontroller_offlinepartitionscount)' 0
	# Messages flow in while txgen | kpub runs: by the brokers' counters,
	# and by the seed's name, Kafka's own one-minute rate.
	settles 30 'sum(rate(kafka_server_brokertopicmetrics_messagesin_total{topic="financial_transactions"}[10s])) > bool 0' 1
	settles 60 'sum(kafka_server_brokertopicmetrics_messagesinpersec{topic="financial_transactions"}) > bool 0' 1
	# The aggregates flow: every stage has had records through it.
	settles 30 'sum(txstream_kpub_records_out_total{job="txstream-aggregator"}) > bool 0' 1
	# Every name is in some scrape, once every program and node has
	# served each of its series (some only after their first event).
	"$TXS_SRCDIR/tests/helpers/metric_names.py" "$TXS_SRCDIR" > used
	echo "$(wc -l < used) names used"
	[ "$(wc -l < used)" -ge 40 ]
	wait_until 60 none_missing used || true
	# Those not in any scrape, named.
	assert_equal "$(tr '\n' ' ' < missing)" ""
}

@test "monitoring on Kafka: the pipeline alerts fire when a stage stops, and resolve when it goes on" {
	wait_until 90 all_up 'txstream-.*' 5
	wait_until 120 quiet 'Txstream.*'

	# The aggregator's kpub stops: its scrape fails, no aggregate reaches
	# Kafka while jagg still reads; then jagg, its pipe full, stops
	# reading and checkpointing, and ksub's lag grows with the producer.
	t0=$SECONDS
	kill -STOP "$AKPUB_PID"
	fires TxstreamProgramDown 'job="txstream-aggregator",program="kpub"' 30
	fires TxstreamNoAggregates 'job="txstream-aggregator"' 60
	fires TxstreamCheckpointTooOld 'job="txstream-aggregator"' 90
	fires TxstreamConsumerLagGrowing 'topic="financial_transactions"' 150
	faulty=$((SECONDS - t0))
	# Alertmanager routes them by severity to the receiver.
	wait_until 30 delivered /txstream/critical firing TxstreamNoAggregates severity=critical environment=dev
	wait_until 30 delivered /txstream/warning firing TxstreamCheckpointTooOld severity=warning
	kill -CONT "$AKPUB_PID"
	wait_until 120 quiet 'Txstream.*'

	# txgen stops: the producer's kpub, still up, delivers nothing.
	t0=$SECONDS
	kill -STOP "$TXGEN_PID"
	fires TxstreamProducerStalled 'job="txstream-producer",program="kpub"' 60
	kill -CONT "$TXGEN_PID"
	# How long stages were stopped before their alerts fired: the length
	# of the healthy run that follows.
	echo $((faulty + SECONDS - t0)) > "$BATS_FILE_TMPDIR/fault_seconds"
	wait_until 90 quiet 'Txstream.*'
	# The resolutions reach the receiver too (at the next group interval).
	wait_until 60 delivered /txstream/critical resolved TxstreamNoAggregates
	wait_until 60 delivered /txstream/warning resolved TxstreamCheckpointTooOld
}

@test "monitoring on Kafka: a healthy pipeline, as long as the stages of the last test were stopped, raises no pipeline alert" {
	length=$(cat "$BATS_FILE_TMPDIR/fault_seconds" 2>/dev/null || echo 120)
	wait_until 120 quiet 'Txstream.*'
	before=$(value 'sum(txstream_jagg_records_in_total)')
	# The run itself (not a synchronisation): then every evaluation of the
	# rules meanwhile, from Prometheus's own ALERTS series: none pending,
	# none firing.
	sleep "$length"
	run query "count_over_time(ALERTS{alertname=~\"Txstream.*\"}[${length}s])"
	assert_output '[]'
	# And the pipeline did work meanwhile.
	after=$(value 'sum(txstream_jagg_records_in_total)')
	[ "$((after - before))" -gt $((length * 100)) ]
}

@test "monitoring on Kafka: a broker killed fires broker-down and under-replicated partitions, delivered, and resolved when it is back" {
	cluster=5L6g3nShT-eMCtK--X86sw
	addr=$(metrics_addr_of kafka-2)
	for_down=$((60 / FACTOR)) for_urp=$((300 / FACTOR))
	wait_until 90 all_up kafka-broker 3
	wait_until 60 value_is 'sum(kafka_server_replicamanager_underreplicatedpartitions)' 0
	wait_until 60 quiet 'Kafka.*'

	killed=$(date +%s.%N)
	kafka kill kafka-2
	wait_until 30 alert_is KafkaBrokerDown firing "instance=\"$addr\""
	# Firing within its for: plus two scrape intervals of the kill, by
	# the time of Prometheus's first firing sample.
	fired=$(first_after "$killed" "ALERTS{alertname=\"KafkaBrokerDown\",alertstate=\"firing\",instance=\"$addr\"}")
	within "$killed" "$fired" "$for_down + 2 * $SCRAPE_S" KafkaBrokerDown
	# The other brokers report the partitions kafka-2 followed (once the
	# controller fences it); the alert fires within its for: plus two
	# scrape intervals of the first report.
	wait_until 90 alert_is KafkaUnderReplicatedPartitions firing
	reported=$(first_after "$killed" kafka_server_replicamanager_underreplicatedpartitions)
	fired=$(first_after "$killed" 'ALERTS{alertname="KafkaUnderReplicatedPartitions",alertstate="firing"}')
	within "$reported" "$fired" "$for_urp + 2 * $SCRAPE_S" KafkaUnderReplicatedPartitions
	# Alertmanager pages for the broker, with the labels its routes and
	# inhibition use, and holds back the symptom it causes (the inhibit
	# rule of alertmanager.yml): suppressed, not lost.
	wait_until 30 delivered /txstream/critical firing KafkaBrokerDown \
		severity=critical job=kafka-broker "kafka_cluster=$cluster" "instance=$addr" environment=dev
	run curl -sf "http://$AM/api/v2/alerts" --get --data-urlencode 'filter=alertname="KafkaUnderReplicatedPartitions"'
	assert_success
	assert_equal "$(jq '[.[] | select(.status.state == "suppressed" and (.status.inhibitedBy | length) > 0)] | length > 0' <<<"$output")" true
	run delivered /txstream/warning firing KafkaUnderReplicatedPartitions
	assert_failure

	kafka restart kafka-2
	wait_until 60 quiet 'KafkaBrokerDown'
	wait_until 120 quiet 'KafkaUnderReplicatedPartitions'
	wait_until 60 delivered /txstream/critical resolved KafkaBrokerDown "instance=$addr"
	# Whatever reached the receiver firing reached it resolved too.
	wait_until 60 "$PY" -c '
import json, sys
state = {}
for line in open(sys.argv[1]):
    for a in json.loads(line)["body"]["alerts"]:
        if a["labels"]["alertname"].startswith("Kafka"):
            state[a["fingerprint"]] = a["status"]
sys.exit(1 if "firing" in state.values() else 0)' "$MON/webhook.ndjson"
}
