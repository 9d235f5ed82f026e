#!/usr/bin/env bats
# monitoring/, docker-compose.yml and Dockerfile, checked with what runs
# without a Docker engine: promtool (Prometheus config, alert rules and
# their unit tests, every Grafana panel's PromQL), amtool (Alertmanager),
# Debian's docker-compose 1.29 (`config -q`: the Compose schema), Python's
# yaml module and jq (structure and cross-references between the files).
#
# Not verifiable here (README): that the images start and are healthy, that
# Kafka forms its quorum, that the JMX exporter serves the metric names (its
# rules are replayed below by an emulation of its matching), that Grafana
# renders the dashboards, that Filebeat and Logstash accept their files and
# that the grok patterns match what Kafka really prints (an emulation with
# Python's re below), that Alertmanager reaches a receiver, and that the
# Dockerfile builds (its steps, make dist then a build from the tarball,
# were run by hand outside Docker).

# $output is set by bats' run.
# shellcheck disable=SC2154

load helpers

PROM=monitoring/prometheus
AM=monitoring/alertmanager/alertmanager.yml

setup() {
	cd "$TXS_SRCDIR" || return
	# Relative to the source tree, wherever make check runs the file from.
	DASHBOARDS=(monitoring/grafana/dashboards/*.json)
}

# --- Prometheus ---

@test "monitoring: promtool check config accepts prometheus.yml and its rule files" {
	run promtool check config "$PROM/prometheus.yml"
	assert_success
	assert_output --partial "SUCCESS: 2 rule files found"
}

@test "monitoring: every rules file passes promtool check rules" {
	local files=("$PROM"/rules/*.yml) f
	[ "${#files[@]}" -ge 2 ]
	for f in "${files[@]}"; do
		run promtool check rules "$f"
		assert_success
	done
}

@test "monitoring: promtool test rules passes for every test file" {
	local files=("$PROM"/tests/*_test.yml) f
	[ "${#files[@]}" -ge 2 ]
	for f in "${files[@]}"; do
		run promtool test rules "$f"
		assert_success
		assert_output --partial SUCCESS
	done
}

@test "monitoring: every alert has for, a severity, a summary and a description, and fires and stays quiet in a test" {
	run "$PY" - "$PROM" <<-'EOF'
		import glob, os, sys, yaml
		prom = sys.argv[1]
		alerts, problems = {}, []
		for f in sorted(glob.glob(prom + "/rules/*.yml")):
		    for g in yaml.safe_load(open(f))["groups"]:
		        for r in g["rules"]:
		            if "alert" not in r:
		                continue
		            a = r["alert"]
		            alerts[a] = os.path.basename(f)
		            if "for" not in r:
		                problems.append(a + ": no for")
		            if r.get("labels", {}).get("severity") not in ("critical", "warning"):
		                problems.append(a + ": severity is not critical or warning")
		            for k in ("summary", "description"):
		                if not r.get("annotations", {}).get(k):
		                    problems.append(a + ": no " + k)
		fires, quiet, tested_files = set(), set(), set()
		for f in sorted(glob.glob(prom + "/tests/*_test.yml")):
		    t = yaml.safe_load(open(f))
		    tested_files |= {os.path.basename(r) for r in t["rule_files"]}
		    for case in t["tests"]:
		        for a in case.get("alert_rule_test", []):
		            (fires if a.get("exp_alerts") else quiet).add(a["alertname"])
		for a in sorted((fires | quiet) - set(alerts)):
		    problems.append(a + ": tested, but no rule defines it")
		for a in sorted(alerts):
		    if a not in fires:
		        problems.append(a + ": no test where it fires")
		    if a not in quiet:
		        problems.append(a + ": no test where it must not fire")
		for f in sorted(set(alerts.values()) - tested_files):
		    problems.append(f + ": no test file loads it")
		if len(alerts) < 10:
		    problems.append("only %d alerts" % len(alerts))
		print("\n".join(problems))
		sys.exit(1 if problems else 0)
	EOF
	assert_success
}

@test "monitoring: the alert unit tests catch a broken alert" {
	# The same tests against rules with a threshold and a condition broken.
	cp -r "$PROM" "$BATS_TEST_TMPDIR/prom"
	sed -i 's/) > 0\.01$/) > 0.5/' "$BATS_TEST_TMPDIR/prom/rules/txstream.yml"
	run promtool test rules "$BATS_TEST_TMPDIR/prom/tests/txstream_test.yml"
	assert_failure
	assert_output --partial TxstreamBadRecordRate
	cp "$PROM/rules/txstream.yml" "$BATS_TEST_TMPDIR/prom/rules/"
	sed -i 's/activecontrollercount) != 1/activecontrollercount) < 1/' "$BATS_TEST_TMPDIR/prom/rules/kafka.yml"
	run promtool test rules "$BATS_TEST_TMPDIR/prom/tests/kafka_test.yml"
	assert_failure
	assert_output --partial KafkaNoActiveController
}

@test "monitoring: Prometheus scrapes every --metrics-addr and JMX exporter of docker-compose.yml" {
	run "$PY" - <<-'EOF'
		import re, subprocess, sys, yaml
		# As compose resolves it: the Kafka nodes' env_file included.
		compose = yaml.safe_load(subprocess.run(["docker-compose", "config"], check=True,
		                                        capture_output=True, text=True).stdout)["services"]
		prom = yaml.safe_load(open("monitoring/prometheus/prometheus.yml"))
		targets = {}
		for job in prom["scrape_configs"]:
		    for sc in job.get("static_configs", []):
		        for t in sc["targets"]:
		            targets[t] = job["job_name"]
		want = {}
		for name, svc in compose.items():
		    cmd = svc.get("command")
		    text = " ".join(cmd) if isinstance(cmd, list) else (cmd or "")
		    for port in re.findall(r"--metrics-addr\s+0\.0\.0\.0:(\d+)", text):
		        want["%s:%s" % (name, port)] = "txstream-" + name
		    opts = str(svc.get("environment", {}).get("KAFKA_OPTS", ""))
		    m = re.search(r"jmx_prometheus_javaagent\.jar=(\d+):", opts)
		    if m:
		        role = "controller" if svc["environment"]["KAFKA_PROCESS_ROLES"] == "controller" else "broker"
		        want["%s:%s" % (name, m.group(1))] = "kafka-" + role
		problems = []
		for t, job in sorted(want.items()):
		    if targets.get(t) != job:
		        problems.append("%s: wanted in job %s, found in %s" % (t, job, targets.get(t)))
		for t, job in sorted(targets.items()):
		    if (job.startswith("txstream-") or job.startswith("kafka-")) and t not in want:
		        problems.append("%s (job %s): nothing in docker-compose.yml serves it" % (t, job))
		if len(want) < 11:
		    problems.append("only %d targets found in docker-compose.yml" % len(want))
		print("\n".join(problems))
		sys.exit(1 if problems else 0)
	EOF
	assert_success
}

# --- Alertmanager ---

@test "monitoring: amtool check-config accepts alertmanager.yml" {
	run amtool check-config "$AM"
	assert_success
	assert_output --partial SUCCESS
}

@test "monitoring: alerts route by severity and the inhibit rules name real alerts" {
	run amtool config routes test --config.file="$AM" --verify.receivers=txstream-critical \
		severity=critical alertname=KafkaBrokerDown
	assert_success
	run amtool config routes test --config.file="$AM" --verify.receivers=txstream-warning \
		severity=warning alertname=TxstreamLateRecordRate
	assert_success
	run "$PY" - "$AM" <<-'EOF'
		import glob, re, sys, yaml
		am = yaml.safe_load(open(sys.argv[1]))
		alerts = {r["alert"] for f in glob.glob("monitoring/prometheus/rules/*.yml")
		          for g in yaml.safe_load(open(f))["groups"] for r in g["rules"] if "alert" in r}
		pairs, problems = set(), []
		for rule in am["inhibit_rules"]:
		    names = []
		    for side in ("source_matchers", "target_matchers"):
		        m = [re.fullmatch(r'alertname="(\w+)"', x) for x in rule[side]]
		        names.append([x.group(1) for x in m if x])
		        problems += ["%s: no such alert" % n for n in names[-1] if n not in alerts]
		    pairs |= {(s, t) for s in names[0] for t in names[1]}
		if ("KafkaBrokerDown", "KafkaUnderReplicatedPartitions") not in pairs:
		    problems.append("KafkaBrokerDown does not inhibit KafkaUnderReplicatedPartitions")
		print("\n".join(problems))
		sys.exit(1 if problems else 0)
	EOF
	assert_success
}

# --- Grafana ---

@test "monitoring: Grafana provisioning points at the Prometheus service and the mounted dashboards" {
	run "$PY" - <<-'EOF'
		import sys, yaml
		ds = yaml.safe_load(open("monitoring/grafana/provisioning/datasources/prometheus.yml"))
		dp = yaml.safe_load(open("monitoring/grafana/provisioning/dashboards/dashboards.yml"))
		svc = yaml.safe_load(open("docker-compose.yml"))["services"]["grafana"]
		d = ds["datasources"][0]
		p = dp["providers"][0]
		checks = [
		    (ds["apiVersion"] == 1 and dp["apiVersion"] == 1, "apiVersion 1"),
		    (d["type"] == "prometheus" and d["uid"] == "prometheus", "datasource type/uid"),
		    (d["url"] == "http://prometheus:9090", "datasource url"),
		    (p["type"] == "file", "provider type"),
		    ("./monitoring/grafana/dashboards:%s:ro" % p["options"]["path"] in svc["volumes"],
		     "dashboards mounted at the provider's path"),
		    ("./monitoring/grafana/provisioning:/etc/grafana/provisioning:ro" in svc["volumes"],
		     "provisioning mounted"),
		]
		bad = [what for ok, what in checks if not ok]
		print("\n".join(bad))
		sys.exit(1 if bad else 0)
	EOF
	assert_success
}

@test "monitoring: every dashboard has panels, every panel a target, on the provisioned datasource" {
	local d
	[ "${#DASHBOARDS[@]}" -ge 2 ]
	for d in "${DASHBOARDS[@]}"; do
		# Prints what is wrong; nothing when all is well.
		run jq -r '
			(if (.uid // "") == "" then "no uid" else empty end),
			(if .schemaVersion != 39 then "schemaVersion \(.schemaVersion)" else empty end),
			(if (.panels | length) == 0 then "no panels" else empty end),
			(.panels[] | . as $p | "panel \(.id) \(.title)" as $n |
				(if (.targets // []) | length == 0 then "\($n): no target" else empty end),
				(if .datasource != {type: "prometheus", uid: "prometheus"} then "\($n): datasource" else empty end),
				(if (.gridPos.w < 1 or .gridPos.w > 24 or .gridPos.x + .gridPos.w > 24 or .gridPos.h < 1)
					then "\($n): gridPos" else empty end),
				((.targets // [])[] | if (.refId // "") == "" or (.expr // "") == ""
					then "\($n): target without refId or expr" else empty end)),
			(if ([.panels[].id] | length) != ([.panels[].id] | unique | length) then "duplicate panel ids" else empty end)
		' "$d"
		assert_success
		assert_output ''
	done
	# Dashboard uids are unique, and panels do not overlap.
	run "$PY" - "${DASHBOARDS[@]}" <<-'EOF'
		import json, sys
		uids, bad = set(), []
		for f in sys.argv[1:]:
		    d = json.load(open(f))
		    if d["uid"] in uids:
		        bad.append(f + ": uid taken")
		    uids.add(d["uid"])
		    cells = {}
		    for p in d["panels"]:
		        g = p["gridPos"]
		        for x in range(g["x"], g["x"] + g["w"]):
		            for y in range(g["y"], g["y"] + g["h"]):
		                if (x, y) in cells:
		                    bad.append("%s: panels %s and %s overlap" % (f, cells[(x, y)], p["id"]))
		                cells[(x, y)] = p["id"]
		print("\n".join(sorted(set(bad))))
		sys.exit(1 if bad else 0)
	EOF
	assert_success
}

@test "monitoring: every Grafana panel's PromQL parses (promtool check rules)" {
	local rules=$BATS_TEST_TMPDIR/panels.yml n
	# Each expr becomes a recording rule: promtool parses its PromQL.
	{
		echo 'groups:'
		echo '  - name: dashboards'
		echo '    rules:'
		jq -r '.uid as $u | .panels[] | .id as $id | .targets[] |
			"      - record: dashboard:\($u | gsub("-"; "_"))_\($id)_\(.refId)",
			"        expr: \(.expr | tojson)"' "${DASHBOARDS[@]}"
	} > "$rules"
	n=$(jq -s '[.[].panels[].targets[]] | length' "${DASHBOARDS[@]}")
	[ "$n" -ge 20 ]
	run promtool check rules "$rules"
	assert_success
	assert_output --partial "SUCCESS: $n rules found"
	# The same check rejects a broken expression.
	sed -i '0,/expr: "/s//expr: "sum(/' "$rules"
	run promtool check rules "$rules"
	assert_failure
}

@test "monitoring: alerts and dashboards use only metrics the man pages list" {
	# The txstream_* names must be in a METRICS section of man/*.1
	# (txstream(7), Logs and metrics); histograms add _bucket, _sum and _count.
	tests/helpers/metric_names.py . > "$BATS_TEST_TMPDIR/used"
	run "$PY" - "$BATS_TEST_TMPDIR/used" <<-'EOF'
		import glob, re, sys
		known = set()
		for m in glob.glob("man/*.1"):
		    sec = re.search(r"^\.Sh METRICS\n(.*?)(?=^\.Sh |\Z)", open(m).read(), re.M | re.S)
		    if sec:
		        known |= set(re.findall(r"txstream_[a-z0-9_]+", sec.group(1)))
		used = {n for n in open(sys.argv[1]).read().split() if n.startswith("txstream_")}
		unknown = sorted(n for n in used
		                 if n not in known and re.sub(r"_(bucket|sum|count)$", "", n) not in known)
		if len(known) < 20 or len(used) < 20:
		    unknown.append("too few names: %d known, %d used" % (len(known), len(used)))
		print("\n".join(unknown))
		sys.exit(1 if unknown else 0)
	EOF
	assert_success
}

@test "monitoring: the JMX exporter rules give the Kafka metric names the alerts and dashboards use" {
	# An emulation of jmx_exporter's matching: each rule's pattern is
	# anchored as ^.*(?:pattern).*$ and tried on "domain<keys><>attr: value";
	# the first match names the sample, lowercased. Java's and Python's
	# regular expressions agree on these patterns.
	tests/helpers/metric_names.py . > "$BATS_TEST_TMPDIR/used"
	run "$PY" - "$BATS_TEST_TMPDIR/used" <<-'EOF'
		import re, sys, yaml
		cfg = yaml.safe_load(open("monitoring/jmx-exporter/kafka.yml"))
		assert cfg["lowercaseOutputName"] is True
		def java(s):
		    return re.sub(r"\$(\d+)", r"\\g<\1>", s)
		def export(bean):
		    for r in cfg["rules"]:
		        m = re.match("^.*(?:" + r["pattern"] + ").*$", bean)
		        if m:
		            name = re.sub(r"[^a-zA-Z0-9:_]", "_", m.expand(java(r["name"]))).lower()
		            labels = {m.expand(java(k)): m.expand(java(v)) for k, v in r.get("labels", {}).items()}
		            return re.sub(r"_+", "_", name), labels
		    return None, {}
		samples = {
		    "kafka.server<type=BrokerTopicMetrics, name=MessagesInPerSec, topic=financial_transactions><>Count: 10":
		        ("kafka_server_brokertopicmetrics_messagesin_total", {"topic": "financial_transactions"}),
		    "kafka.server<type=BrokerTopicMetrics, name=MessagesInPerSec><>Count: 10":
		        ("kafka_server_brokertopicmetrics_messagesin_total", {}),
		    "kafka.server<type=BrokerTopicMetrics, name=BytesInPerSec, topic=transaction_aggregates><>Count: 10":
		        ("kafka_server_brokertopicmetrics_bytesin_total", {"topic": "transaction_aggregates"}),
		    "kafka.server<type=BrokerTopicMetrics, name=BytesOutPerSec, topic=transaction_aggregates><>Count: 10":
		        ("kafka_server_brokertopicmetrics_bytesout_total", {"topic": "transaction_aggregates"}),
		    "kafka.server<type=BrokerTopicMetrics, name=MessagesInPerSec, topic=financial_transactions><>OneMinuteRate: 2.5":
		        ("kafka_server_brokertopicmetrics_messagesinpersec", {"topic": "financial_transactions"}),
		    "kafka.server<type=BrokerTopicMetrics, name=BytesInPerSec><>OneMinuteRate: 2.5":
		        ("kafka_server_brokertopicmetrics_bytesinpersec", {}),
		    "kafka.server<type=ReplicaManager, name=UnderReplicatedPartitions><>Value: 0":
		        ("kafka_server_replicamanager_underreplicatedpartitions", {}),
		    "kafka.server<type=ReplicaManager, name=UnderMinIsrPartitionCount><>Value: 0":
		        ("kafka_server_replicamanager_underminisrpartitioncount", {}),
		    "kafka.controller<type=KafkaController, name=ActiveControllerCount><>Value: 1":
		        ("kafka_controller_kafkacontroller_activecontrollercount", {}),
		    "kafka.controller<type=KafkaController, name=OfflinePartitionsCount><>Value: 0":
		        ("kafka_controller_kafkacontroller_offlinepartitionscount", {}),
		    "kafka.network<type=RequestMetrics, name=TotalTimeMs, request=Produce><>99thPercentile: 3.5":
		        ("kafka_network_requestmetrics_totaltimems", {"request": "Produce", "quantile": "0.99"}),
		    "kafka.server<type=raft-metrics><>current-state: leader":
		        ("kafka_server_raft_metrics_current_state_info", {"state": "leader"}),
		}
		bad, produced = [], set()
		for bean, want in samples.items():
		    got = export(bean)
		    produced.add(got[0])
		    if got != want:
		        bad.append("%s\n  gives %s, not %s" % (bean, got, want))
		# Every kafka_* name the alerts and panels use is one of those.
		used = [n for n in open(sys.argv[1]).read().split() if n.startswith("kafka_")]
		if len(used) < 8:
		    bad.append("too few kafka_* names used: %d" % len(used))
		for n in used:
		    if n not in produced:
		        bad.append(n + ": used, but no sample MBean gives it")
		print("\n".join(bad))
		sys.exit(1 if bad else 0)
	EOF
	assert_success
}

# --- ELK ---

@test "monitoring: filebeat.yml reads container logs, ships to Logstash, and joins Kafka's stack traces" {
	run "$PY" - <<-'EOF'
		import re, sys, yaml
		fb = yaml.safe_load(open("monitoring/elk/filebeat.yml"))
		ls = open("monitoring/elk/logstash/pipeline/txstream.conf").read()
		inp = fb["filebeat.inputs"][0]
		bad = []
		if inp["type"] != "container" or inp["paths"] != ["/var/lib/docker/containers/*/*.log"]:
		    bad.append("not a container input on Docker's log files")
		if fb["output.logstash"]["hosts"] != ["logstash:5044"] or not re.search(r"port\s*=>\s*5044", ls):
		    bad.append("Filebeat and Logstash disagree on the beats port")
		if not any("add_docker_metadata" in p for p in fb["processors"]):
		    bad.append("no add_docker_metadata")
		# The multiline pattern (Go's RE2; the same meaning in Python's re):
		# a line that matches starts a new event (negate: true, match: after).
		ml = inp["multiline"]
		if (ml["negate"], ml["match"]) != (True, "after"):
		    bad.append("multiline is not negate/after")
		starts = re.compile(ml["pattern"])
		for line, new in [
		    ('{"ts":"2026-11-24T20:00:00.123Z","level":"warn","prog":"jagg","msg":"x"}', True),
		    ("[2026-11-24 20:00:00,123] INFO [KafkaRaftServer nodeId=4] Kafka Server started (kafka.server.KafkaRaftServer)", True),
		    ("jagg: <stdin>:3: not a JSON object", True),
		    ('ts=2026-11-24T20:00:00.123Z caller=main.go:1 level=info msg="Starting Alertmanager"', True),
		    ("java.lang.IllegalStateException: boom", False),
		    ("\tat kafka.server.BrokerServer.startup(BrokerServer.scala:123)", False),
		    ("Caused by: org.apache.kafka.common.errors.TimeoutException: late", False),
		    ("\tadvertised.listeners = PLAINTEXT://kafka-1:19092", False),
		    (" (kafka.server.KafkaConfig)", False),
		]:
		    if bool(starts.search(line)) != new:
		        bad.append("multiline: %r %s a new event" % (line, "should start" if new else "should not start"))
		print("\n".join(bad))
		sys.exit(1 if bad else 0)
	EOF
	assert_success
}

@test "monitoring: the Logstash pipeline balances its braces and routes into the txstream and kafka indices" {
	# No Logstash here: its own parser (logstash -t) cannot run. This checks
	# the structure: brackets balance outside strings, regexes and comments.
	run "$PY" - monitoring/elk/logstash/pipeline/txstream.conf <<-'EOF'
		import re, sys
		text = open(sys.argv[1]).read()
		bad, stack, i = [], [], 0
		pairs = {"}": "{", "]": "["}
		while i < len(text):
		    c = text[i]
		    if c == "#":
		        i = text.find("\n", i)
		        i = len(text) if i < 0 else i
		        continue
		    if c in "\"'":
		        j = i + 1
		        while text[j] != c:
		            j += 2 if text[j] == "\\" else 1
		        i = j + 1
		        continue
		    if c == "/" and re.search(r"=~\s*$", text[:i]):
		        j = i + 1
		        while text[j] != "/":
		            j += 2 if text[j] == "\\" else 1
		        i = j + 1
		        continue
		    if c in "{[":
		        stack.append((c, text.count("\n", 0, i) + 1))
		    elif c in "}]":
		        if not stack or stack.pop()[0] != pairs[c]:
		            bad.append("line %d: unbalanced %s" % (text.count("\n", 0, i) + 1, c))
		    i += 1
		bad += ["line %d: %s never closed" % (l, c) for c, l in stack]
		blocks = re.findall(r"^(input|filter|output)\s*\{", text, re.M)
		if blocks != ["input", "filter", "output"]:
		    bad.append("sections: %s" % blocks)
		for index in ("txstream-logs-%{+YYYY.MM.dd}", "kafka-logs-%{+YYYY.MM.dd}"):
		    if '"%s"' % index not in text:
		        bad.append("no index " + index)
		print("\n".join(bad))
		sys.exit(1 if bad else 0)
	EOF
	assert_success
}

@test "monitoring: the Logstash grok patterns split Kafka's log4j records (emulated with Python's re)" {
	# Grok's patterns expanded by hand (logstash-patterns-core), Oniguruma's
	# \z and (?m:) (dot matches newline) written as Python's \Z and (?s:).
	run "$PY" - monitoring/elk/logstash/pipeline/txstream.conf <<-'EOF'
		import re, sys
		conf = open(sys.argv[1]).read()
		block = re.search(r'"message" => \[\n(.*?)\n\s*\]\n', conf, re.S).group(1)
		patterns = re.findall(r'"((?:[^"\\]|\\.)*)"', block)
		grok = {
		    "TIMESTAMP_ISO8601": r"\d{4}-\d{2}-\d{2}[T ]\d{2}:?\d{2}(?::?\d{2}(?:[:.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?",
		    "LOGLEVEL": r"(?:TRACE|DEBUG|INFO|WARN(?:ING)?|ERROR|FATAL)",
		    "JAVACLASS": r"(?:[a-zA-Z$_][a-zA-Z$_0-9]*\.)*[a-zA-Z$_][a-zA-Z$_0-9]*",
		}
		def py(p):
		    n = [0]
		    def field(m):
		        n[0] += 1
		        name = re.sub(r"\W+", "_", m.group(2)).strip("_")
		        return "(?P<%s>%s)" % (name, grok[m.group(1)])
		    p = re.sub(r"%\{(\w+):([^}]+)\}", field, p)
		    return re.compile(p.replace("(?<", "(?P<").replace(r"\z", r"\Z").replace("(?m:", "(?s:"))
		compiled = [py(p) for p in patterns]
		def parse(msg):
		    for c in compiled:
		        m = c.search(msg)
		        if m:
		            return m.groupdict()
		started = "[2026-11-24 20:00:00,123] INFO [KafkaRaftServer nodeId=4] Kafka Server started (kafka.server.KafkaRaftServer)"
		trace = ("[2026-11-24 20:00:01,456] ERROR [BrokerLifecycleManager id=4] failed (kafka.server.BrokerLifecycleManager)\n"
		         "java.lang.IllegalStateException: boom\n\tat kafka.server.BrokerServer.startup(BrokerServer.scala:123)")
		dump = ("[2026-11-24 20:00:00,001] INFO KafkaConfig values: \n"
		        "\tadvertised.listeners = PLAINTEXT://kafka-1:19092\n\tbroker.id = 4\n (kafka.server.KafkaConfig)")
		bad = []
		r = parse(started) or {}
		if (r.get("log_level"), r.get("log_logger"), r.get("kafka_ts")) != ("INFO", "kafka.server.KafkaRaftServer", "2026-11-24 20:00:00,123"):
		    bad.append("plain line: %s" % r)
		r = parse(trace) or {}
		if r.get("log_logger") != "kafka.server.BrokerLifecycleManager" or "BrokerServer.scala:123" not in (r.get("stack_trace") or ""):
		    bad.append("stack trace: %s" % r)
		r = parse(dump) or {}
		if r.get("log_logger") != "kafka.server.KafkaConfig" or "broker.id = 4" not in (r.get("kafka_message") or ""):
		    bad.append("multi-line message: %s" % r)
		if parse('{"ts":"2026-11-24T20:00:00.123Z","level":"info","prog":"kpub","msg":"x"}') is not None:
		    bad.append("a JSON line parsed as log4j")
		print("\n".join(bad))
		sys.exit(1 if bad else 0)
	EOF
	assert_success
}

# --- docker-compose.yml and Dockerfile ---

@test "monitoring: docker-compose config -q accepts docker-compose.yml" {
	run docker-compose -f docker-compose.yml config -q
	assert_success
	assert_output ''
}

@test "monitoring: docker-compose.yml has the seed's cluster and the pipeline's services" {
	run "$PY" - <<-'EOF'
		import subprocess, sys, yaml
		s = yaml.safe_load(open("docker-compose.yml"))["services"]
		# The environment as compose resolves it, kafka/*.env included.
		resolved = yaml.safe_load(subprocess.run(["docker-compose", "config"], check=True,
		                                         capture_output=True, text=True).stdout)["services"]
		bad = []
		need = ["controller-1", "controller-2", "controller-3", "kafka-1", "kafka-2", "kafka-3",
		        "topics", "producer", "aggregator", "schema-registry", "redpanda-console",
		        "prometheus", "alertmanager", "grafana", "elasticsearch", "logstash", "kibana", "filebeat"]
		bad += ["no service " + n for n in need if n not in s]
		for n in need[:6]:
		    e, role = resolved[n]["environment"], "controller" if n.startswith("controller") else "broker"
		    want = {"CLUSTER_ID": "5L6g3nShT-eMCtK--X86sw", "KAFKA_PROCESS_ROLES": role,
		            "KAFKA_DEFAULT_REPLICATION_FACTOR": "3", "KAFKA_MIN_INSYNC_REPLICAS": "2",
		            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "3",
		            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "3"}
		    bad += ["%s: %s is %r" % (n, k, e.get(k)) for k, v in want.items() if str(e.get(k)) != v]
		    if s[n]["image"] != "apache/kafka:3.8.1":
		        bad.append(n + ": image " + s[n]["image"])
		    if role == "controller" and "KAFKA_ADVERTISED_LISTENERS" in e:
		        bad.append(n + ": a controller must not set KAFKA_ADVERTISED_LISTENERS")
		    if "healthcheck" not in s[n] or "KAFKA_OPTS= " not in s[n]["healthcheck"]["test"][1]:
		        bad.append(n + ": no healthcheck clearing KAFKA_OPTS")
		for n, port in (("kafka-1", "29092:9092"), ("kafka-2", "39092:9092"), ("kafka-3", "49092:9092")):
		    if port not in s[n].get("ports", []):
		        bad.append("%s: not published as %s" % (n, port))
		for n in ("producer", "aggregator"):
		    svc = s[n]
		    if "build" not in svc or "healthcheck" not in svc:
		        bad.append(n + ": needs build and healthcheck")
		    if svc.get("depends_on", {}).get("topics", {}).get("condition") != "service_completed_successfully":
		        bad.append(n + ": does not wait for the topics")
		    if "--log-format json" not in svc["command"][-1]:
		        bad.append(n + ": logs are not JSON")
		if "txstream-state:/var/lib/txstream" not in s["aggregator"].get("volumes", []):
		    bad.append("aggregator: no checkpoint volume")
		if s["aggregator"]["command"][-1].count("/var/lib/txstream/state.json") != 2:
		    bad.append("aggregator: ksub -o @FILE and jagg --checkpoint FILE differ")
		print("\n".join(bad))
		sys.exit(1 if bad else 0)
	EOF
	assert_success
}

@test "monitoring: the compose pipeline uses only options the programs accept" {
	local prog opt
	run "$PY" - <<-'EOF'
		import shlex, yaml
		s = yaml.safe_load(open("docker-compose.yml"))["services"]
		for n in ("producer", "aggregator"):
		    # The pipeline: the script without its set and trap lines.
		    script = s[n]["command"][-1].replace("\\\n", " ")
		    pipeline = " ".join(l for l in script.splitlines() if not l.startswith(("set ", "trap ")))
		    for stage in pipeline.split("|"):
		        words = shlex.split(stage)
		        for w in words[1:]:
		            if w.startswith("--"):
		                print(words[0], w.split("=")[0])
	EOF
	assert_success
	[ "${#lines[@]}" -ge 10 ]
	local pairs=("${lines[@]}")
	for pair in "${pairs[@]}"; do
		read -r prog opt <<< "$pair"
		command -v "$prog" >/dev/null || fail "$prog is not on PATH (make check puts the build tree first)"
		run "$prog" --help
		assert_success
		assert_output --partial -- "$opt"
	done
}

@test "monitoring: the Dockerfile is multi-stage Debian, built from make dist, non-root, with a state volume" {
	run grep -c '^FROM debian:bookworm' Dockerfile
	assert_output 2
	run grep -E '^FROM debian:bookworm-slim$' Dockerfile
	assert_success
	run grep -E 'make dist( |$)' Dockerfile
	assert_success
	run grep -E '^USER [a-z]' Dockerfile
	assert_success
	refute_output --partial root
	run grep -Fx 'VOLUME /var/lib/txstream' Dockerfile
	assert_success
	# Every package configure asks for (TXS_REQUIRE) is in the build stage.
	local pkg pkgs build
	build=$(sed -n '/^FROM .* AS build/,/^FROM /p' Dockerfile)
	mapfile -t pkgs < <(sed -n 's/^TXS_REQUIRE(\[[A-Z]*\], \[[^]]*\], \[\([^]]*\)\])$/\1/p' configure.ac)
	[ "${#pkgs[@]}" -ge 4 ]
	for pkg in "${pkgs[@]}"; do
		grep -qw -- "$pkg" <<< "$build" || fail "configure needs $pkg; the build stage lacks it"
	done
	# The compose healthchecks run curl in this image.
	grep -q 'curl -fsS' docker-compose.yml
	sed -n '/^FROM debian:bookworm-slim/,$p' Dockerfile | grep -qw curl
	# The build context leaves out VCS and build trees.
	grep -Fx .git .dockerignore
	grep -Fx _build .dockerignore
}

@test "monitoring: the runtime image installs the package of every library the programs link" {
	command -v dpkg-query >/dev/null || skip "not a Debian system: no dpkg to map libraries to packages"
	# debian/ is the packaging of the release tarball, not part of it.
	[ -f debian/control ] || skip "no debian/ here (make dist leaves it out): the source tree's run checks this"
	command -v dpkg-shlibdeps >/dev/null || fail "dpkg-shlibdeps not found (dpkg-dev, scripts/install-deps)"
	local runtime prog lib path file pkg depends n=0
	# dpkg knows a library by the path its package installed (merged /usr).
	owner() {
		dpkg -S "$1" 2>/dev/null || dpkg -S "/usr$1" 2>/dev/null || dpkg -S "$(readlink -f "$1")" 2>/dev/null
	}
	# The runtime stage installs the txstream package with apt-get, which
	# brings its Depends; debian/control makes them ${shlibs:Depends}, the
	# packages dpkg-shlibdeps finds for the libraries the programs link.
	runtime=$(sed -n '/^FROM debian:bookworm-slim/,$p' Dockerfile)
	grep -q 'apt-get install' <<< "$runtime"
	grep -q '/tmp/txstream_\*\.deb' <<< "$runtime"
	# shellcheck disable=SC2016 # the literal ${shlibs:Depends}
	sed -n '/^Package: txstream$/,/^$/p' debian/control | grep -q '^Depends:.*${shlibs:Depends}'
	for prog in txgen kpub ksub jagg; do
		path=$(command -v "$prog") || fail "$prog is not on PATH (make check puts the build tree first)"
		depends=$(dpkg-shlibdeps -O -e "$path" 2>/dev/null)
		for lib in $(readelf -d "$path" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			file=$(ldd "$path" | awk -v l="$lib" '$1 == l { print $3 }')
			pkg=$(owner "$file" | cut -d: -f1 | head -n 1)
			[ -n "$pkg" ] || fail "$prog: no Debian package owns $lib"
			n=$((n + 1))
			grep -qw -- "$pkg" <<< "$depends" || fail "$prog links $lib ($pkg), which the package's Depends lack"
		done
	done
	[ "$n" -ge 8 ]
}

@test "monitoring: metrics are published on loopback or the compose network only, by default" {
	run "$PY" - <<-'EOF'
		import glob, re, sys, yaml
		s = yaml.safe_load(open("docker-compose.yml"))["services"]
		bad = []
		# Endpoints without authentication: Prometheus, Alertmanager, each --metrics-addr.
		for n in ("prometheus", "alertmanager"):
		    for p in s[n].get("ports", []):
		        # HOST:HOST_PORT:PORT, where an unset ${VAR:-default} takes its default.
		        host = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(p)).rsplit(":", 2)
		        if len(host) != 3 or host[0] != "127.0.0.1":
		            bad.append("%s: %s is published on every host address" % (n, p))
		for n, svc in s.items():
		    if "--metrics-addr" in str(svc.get("command", "")) and svc.get("ports"):
		        bad.append(n + ": publishes its --metrics-addr ports")
		for f in glob.glob("scripts/systemd/*"):
		    for addr in re.findall(r"--metrics-addr[ =](\S+)", open(f).read()):
		        if not addr.startswith("127.0.0.1:"):
		            bad.append("%s: --metrics-addr %s is not loopback" % (f, addr))
		print("\n".join(bad))
		sys.exit(1 if bad else 0)
	EOF
	assert_success
}
