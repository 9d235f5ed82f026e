/*
 * The seed's job as a Kafka Streams application, what a Kafka shop would
 * write instead of the Spark job: read the transactions topic from the
 * earliest offsets, re-key each transaction by merchantId (groupBy, so
 * Kafka Streams repartitions through an internal topic), aggregate the
 * count and the sum of amount per merchant in a state store, and write
 * every update as {merchantId, totalAmount, transactionCount}, keyed by
 * merchantId, to the aggregates topic. Exactly-once v2 (transactions),
 * two stream threads: the two cores txstream and Spark get.
 *
 * amount is summed as a double, as the seed's Spark schema has it, so the
 * totals drift from the exact decimal sum the same way (bench/e2e.sh
 * prints by how much).
 *
 * Kafka Streams gives an aggregate the largest timestamp of the input
 * records it has seen, not the time it was written; bench/e2e.sh therefore
 * makes its aggregates topics LogAppendTime, for every pipeline alike.
 *
 * Usage: TransactionAggregator BROKERS SOURCE_TOPIC AGGREGATES_TOPIC
 *        STATE_DIR APPLICATION_ID
 */
package org.txstream.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;

public final class TransactionAggregator {
	private static final int STREAM_THREADS = 2;
	private static final ObjectMapper JSON = new ObjectMapper();

	private TransactionAggregator() {
	}

	/* The state of one merchant, kept as "count sum" text: a double's
	 * Double.toString reads back to the same double. */
	private static final String EMPTY = "0 0.0";

	private static String add(String state, JsonNode tx) {
		int sp = state.indexOf(' ');
		long n = Long.parseLong(state.substring(0, sp));
		double total = Double.parseDouble(state.substring(sp + 1));
		return (n + 1) + " " + (total + tx.get("amount").asDouble());
	}

	/* The parsed transaction crosses the repartition topic as JSON. */
	private static Serde<JsonNode> jsonSerde() {
		Serializer<JsonNode> ser = (topic, node) -> {
			try {
				return node == null ? null : JSON.writeValueAsBytes(node);
			} catch (Exception e) {
				throw new SerializationException(e);
			}
		};
		Deserializer<JsonNode> de = (topic, bytes) -> {
			try {
				return bytes == null ? null : JSON.readTree(bytes);
			} catch (Exception e) {
				throw new SerializationException(e);
			}
		};
		return Serdes.serdeFrom(ser, de);
	}

	private static String aggregate(String merchant, String state) {
		int sp = state.indexOf(' ');
		ObjectNode out = JSON.createObjectNode();
		out.put("merchantId", merchant);
		out.put("totalAmount", Double.parseDouble(state.substring(sp + 1)));
		out.put("transactionCount", Long.parseLong(state.substring(0, sp)));
		return out.toString();
	}

	private static JsonNode parse(String value) {
		try {
			return JSON.readTree(value);
		} catch (Exception e) {
			return null;
		}
	}

	public static void main(String[] args) throws Exception {
		if (args.length != 5) {
			System.err.println("usage: TransactionAggregator BROKERS SOURCE_TOPIC"
			    + " AGGREGATES_TOPIC STATE_DIR APPLICATION_ID");
			System.exit(64);
		}
		Properties p = new Properties();
		p.put(StreamsConfig.APPLICATION_ID_CONFIG, args[4]);
		p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
		p.put(StreamsConfig.STATE_DIR_CONFIG, args[3]);
		p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
		p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, STREAM_THREADS);
		p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");

		StreamsBuilder b = new StreamsBuilder();
		b.stream(args[1], Consumed.with(Serdes.String(), Serdes.String()))
		    .mapValues(TransactionAggregator::parse)
		    .filter((k, tx) -> tx != null && tx.hasNonNull("merchantId") && tx.has("amount"))
		    .groupBy((k, tx) -> tx.get("merchantId").asText(),
		        Grouped.with(Serdes.String(), jsonSerde()))
		    .aggregate(() -> EMPTY, (merchant, tx, state) -> add(state, tx),
		        Materialized.with(Serdes.String(), Serdes.String()))
		    .toStream()
		    .mapValues(TransactionAggregator::aggregate)
		    .to(args[2], Produced.with(Serdes.String(), Serdes.String()));

		KafkaStreams streams = new KafkaStreams(b.build(), p);
		CountDownLatch done = new CountDownLatch(1);
		Runtime.getRuntime().addShutdownHook(new Thread(() -> {
			streams.close();
			done.countDown();
		}));
		streams.start();
		done.await();
	}
}
