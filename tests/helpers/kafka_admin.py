#!/usr/bin/python3
"""The tests' admin client for the real local cluster (scripts/kafka),
written with python3-kafka (a client that is not txstream's and not
librdkafka):

  kafka_admin.py BROKERS reset [NAME:PARTITIONS[:REPLICAS]]... [NAME=VALUE]...
      delete every topic but Kafka's own and every consumer group, wait
      until they are gone, then create the topics named (replication
      factor 3 unless given, capped at the number of brokers; each with
      the topic configs NAME=VALUE) and wait until every partition has a
      leader. What kbroker -T gives a test.
  kafka_admin.py BROKERS create TOPIC PARTITIONS [NAME=VALUE]...
      create one topic with topic configs (replication factor 3) and wait
      until every partition has a leader.
  kafka_admin.py BROKERS describe TOPIC
      one JSON line: partitions, replication factor, and the topic's
      min.insync.replicas and cleanup.policy.
  kafka_admin.py BROKERS leaders TOPIC
      one line per partition: PARTITION LEADER_ID
"""
import json
import sys
import time

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError

TIMEOUT_S = 60


def admin(brokers):
    return KafkaAdminClient(bootstrap_servers=brokers.split(","),
                            request_timeout_ms=20000,
                            api_version_auto_timeout_ms=20000)


def wait(what, cond):
    deadline = time.monotonic() + TIMEOUT_S
    while not cond():
        if time.monotonic() > deadline:
            sys.exit(f"kafka_admin: timed out waiting for {what}")
        time.sleep(0.05)


def user_topics(a):
    return {t for t in a.list_topics() if not t.startswith("__")}


def partitions(a, topic):
    """Partition -> leader, from a metadata request of the admin client."""
    md = a.describe_topics([topic])
    if not md or md[0]["error_code"] != 0:
        return {}
    return {p["partition"]: p["leader"] for p in md[0]["partitions"]}


def has_leaders(a, topic, n):
    p = partitions(a, topic)
    return len(p) == n and all(l is not None and l >= 0 for l in p.values())


def reset(brokers, args):
    specs = [x for x in args if "=" not in x]
    configs = dict(x.split("=", 1) for x in args if "=" in x)
    a = admin(brokers)
    groups = [g for g, _ in a.list_consumer_groups()]
    if groups:
        try:
            a.delete_consumer_groups(groups)
        except KafkaError as e:
            print(f"kafka_admin: cannot delete groups {groups}: {e}", file=sys.stderr)
    old = user_topics(a)
    if old:
        a.delete_topics(sorted(old), timeout_ms=30000)
        wait("deleted topics", lambda: not (user_topics(a) & old))
    nbrokers = len(a.describe_cluster()["brokers"])
    new = []
    for spec in specs:
        f = spec.split(":")
        rf = min(int(f[2]) if len(f) > 2 else 3, nbrokers)
        new.append(NewTopic(f[0], int(f[1]), rf, topic_configs=configs))
    if new:
        a.create_topics(new, timeout_ms=30000)
        for t in new:
            wait(f"leaders of {t.name}", lambda t=t: has_leaders(a, t.name, t.num_partitions))
    a.close()


def create(brokers, topic, nparts, configs):
    a = admin(brokers)
    rf = min(3, len(a.describe_cluster()["brokers"]))
    a.create_topics([NewTopic(topic, nparts, rf, topic_configs=configs)], timeout_ms=30000)
    wait(f"leaders of {topic}", lambda: has_leaders(a, topic, nparts))
    a.close()


def describe(brokers, topic):
    a = admin(brokers)
    md = a.describe_topics([topic])[0]
    res = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    conf = {}
    for r in res:
        for entry in r.resources[0][4]:
            conf[entry[0]] = entry[1]
    print(json.dumps({
        "topic": topic,
        "partitions": len(md["partitions"]),
        "replication_factor": len(md["partitions"][0]["replicas"]) if md["partitions"] else 0,
        "min.insync.replicas": conf.get("min.insync.replicas"),
        "cleanup.policy": conf.get("cleanup.policy"),
    }))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    brokers, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == "reset":
        reset(brokers, args)
    elif cmd == "create" and len(args) >= 2:
        create(brokers, args[0], int(args[1]), dict(a.split("=", 1) for a in args[2:]))
    elif cmd == "describe" and len(args) == 1:
        describe(brokers, args[0])
    elif cmd == "leaders" and len(args) == 1:
        for p, l in sorted(partitions(admin(brokers), args[0]).items()):
            print(p, l)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
