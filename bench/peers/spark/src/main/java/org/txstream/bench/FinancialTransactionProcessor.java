/*
 * The seed's Spark Structured Streaming job (jobs/spark_processor.py in the
 * seed), in Java against Spark 4.0.0, so bench/e2e.sh can run it with
 * `java -cp` beside txstream on the same Kafka cluster:
 *
 *   read the transactions topic from the earliest offsets; parse each value
 *   with the seed's transaction schema; group by merchantId with
 *   totalAmount = sum(amount) and transactionCount = count(*); output mode
 *   update, a checkpoint directory, 20 shuffle partitions; write
 *   {merchantId, totalAmount, transactionCount} as JSON, keyed by
 *   merchantId, to the aggregates topic.
 *
 * As in the seed, amount is a DoubleType: sum(amount) is a sum of binary
 * doubles, so a total of hundreds of thousands of amounts such as 123456.78
 * drifts from the exact decimal sum by some cents or more (bench/e2e.sh
 * prints by how much), and it is written in Java's notation
 * (3.3336733947520004E10).
 *
 * Usage: FinancialTransactionProcessor BROKERS SOURCE_TOPIC AGGREGATES_TOPIC
 *        CHECKPOINT_DIR   (the master is local[2] unless -Dspark.master says)
 */
package org.txstream.bench;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.from_json;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.to_json;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

public final class FinancialTransactionProcessor {
	/* The seed's setting: more shuffle partitions than the 2 cores. */
	private static final int SHUFFLE_PARTITIONS = 20;

	private FinancialTransactionProcessor() {
	}

	public static void main(String[] args) throws Exception {
		if (args.length != 4) {
			System.err.println("usage: FinancialTransactionProcessor BROKERS SOURCE_TOPIC"
			    + " AGGREGATES_TOPIC CHECKPOINT_DIR");
			System.exit(64);
		}
		String brokers = args[0];
		String source = args[1];
		String aggregates = args[2];
		String checkpoint = args[3];

		SparkSession spark = SparkSession.builder()
		    .appName("FinancialTransactionProcessor")
		    .master(System.getProperty("spark.master", "local[2]"))
		    .config("spark.sql.shuffle.partitions", SHUFFLE_PARTITIONS)
		    .config("spark.ui.enabled", "false")
		    .getOrCreate();
		spark.sparkContext().setLogLevel("WARN");

		/* The seed's transaction schema; amount a double, as there. */
		StructType schema = new StructType()
		    .add("transactionId", DataTypes.StringType)
		    .add("userId", DataTypes.StringType)
		    .add("merchantId", DataTypes.StringType)
		    .add("amount", DataTypes.DoubleType)
		    .add("transactionTime", DataTypes.LongType)
		    .add("location", DataTypes.StringType)
		    .add("paymentMethod", DataTypes.StringType)
		    .add("isInternational", DataTypes.StringType)
		    .add("currency", DataTypes.StringType);

		Dataset<Row> transactions = spark.readStream()
		    .format("kafka")
		    .option("kafka.bootstrap.servers", brokers)
		    .option("subscribe", source)
		    .option("startingOffsets", "earliest")
		    .load()
		    .selectExpr("CAST(value AS STRING) AS value")
		    .select(from_json(col("value"), schema).alias("data"))
		    .select("data.*");

		Dataset<Row> totals = transactions.groupBy("merchantId")
		    .agg(sum("amount").alias("totalAmount"), count(lit(1)).alias("transactionCount"));

		StreamingQuery query = totals
		    .withColumn("key", col("merchantId").cast("string"))
		    .withColumn("value", to_json(struct(col("merchantId"), col("totalAmount"),
		        col("transactionCount"))))
		    .selectExpr("key", "value")
		    .writeStream()
		    .format("kafka")
		    .outputMode("update")
		    .option("kafka.bootstrap.servers", brokers)
		    .option("topic", aggregates)
		    .option("checkpointLocation", checkpoint + "/aggregates")
		    .start();
		query.awaitTermination();
	}
}
