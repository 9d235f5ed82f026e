/*
 * Ready: wait until a local Kafka cluster serves, for scripts/kafka.
 *
 *   java -cp KAFKA_JARS Ready ADDRESSES TIMEOUT_S BROKERS [VOTER_ID SINCE_MS]
 *
 * Exits 0 once every address of ADDRESSES (host:port,...) answers a
 * metadata request itself (not through another broker), its metadata
 * lists BROKERS brokers (any number when 0) and an elected controller;
 * with VOTER_ID, also once
 * that controller has caught up with the quorum's leader at or after
 * SINCE_MS (milliseconds since the epoch: the moment it was restarted).
 * Exits 1 with the last reason on stderr when TIMEOUT_S passes first.
 * Uses Kafka's own Admin client, so "ready" means what a client sees.
 */
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.QuorumInfo;

public final class Ready {
    private static final long POLL_MS = 250;
    private static final int REQUEST_TIMEOUT_MS = 2000;

    private static Admin admin(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, REQUEST_TIMEOUT_MS);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, REQUEST_TIMEOUT_MS);
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500);
        return Admin.create(p);
    }

    /* null when ready, else why not yet. */
    private static String check(String[] addrs, int brokers, int voter, long since) throws Exception {
        for (String addr : addrs) {
            try (Admin a = admin(addr)) {
                DescribeClusterResult c = a.describeCluster();
                int n = c.nodes().get(REQUEST_TIMEOUT_MS, TimeUnit.MILLISECONDS).size();
                if (brokers > 0 && n != brokers)
                    return addr + " lists " + n + " of " + brokers + " brokers";
                if (c.controller().get(REQUEST_TIMEOUT_MS, TimeUnit.MILLISECONDS) == null)
                    return addr + " knows no controller";
                if (voter < 0)
                    continue;
                QuorumInfo q = a.describeMetadataQuorum().quorumInfo()
                        .get(REQUEST_TIMEOUT_MS, TimeUnit.MILLISECONDS);
                for (QuorumInfo.ReplicaState r : q.voters()) {
                    if (r.replicaId() != voter)
                        continue;
                    long caught = r.lastCaughtUpTimestamp().orElse(-1L);
                    if (caught < since)
                        return "controller " + voter + " has not caught up since its start";
                    return null;
                }
                return "controller " + voter + " is not a voter";
            } catch (Exception e) {
                Throwable t = e.getCause() != null ? e.getCause() : e;
                return addr + ": " + t.getMessage();
            }
        }
        return null;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3 && args.length != 5) {
            System.err.println("usage: Ready ADDRESSES TIMEOUT_S BROKERS [VOTER_ID SINCE_MS]");
            System.exit(64);
        }
        String[] addrs = args[0].split(",");
        long deadline = System.currentTimeMillis() + (long) (Double.parseDouble(args[1]) * 1000);
        int brokers = Integer.parseInt(args[2]);
        int voter = args.length == 5 ? Integer.parseInt(args[3]) : -1;
        long since = args.length == 5 ? Long.parseLong(args[4]) : 0;
        String why;
        while ((why = check(addrs, brokers, voter, since)) != null) {
            if (System.currentTimeMillis() >= deadline) {
                System.err.println("kafka: not ready: " + why);
                System.exit(1);
            }
            Thread.sleep(POLL_MS);
        }
        System.exit(0);
    }
}
