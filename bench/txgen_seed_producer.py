"""The seed's producer loop (main.py's generate_transaction + json.dumps),
writing lines instead of producing to Kafka: the baseline txgen is
compared against. Usage: python3 txgen_seed_producer.py COUNT
"""
import json
import random
import sys
import time
import uuid


def generate_transaction():
    return {
        "transactionId": str(uuid.uuid4()),
        "userId": f"user_{random.randint(1, 100)}",
        "amount": round(random.uniform(50000, 150000), 2),
        "transactionTime": int(time.time()),
        "merchantId": random.choice(["merchant_1", "merchant_2", "merchant_3"]),
        "location": f"location_{random.randint(1, 50)}",
        "paymentMethod": random.choice(["credit-card", "paypal", "bank_transfer"]),
        "isInternational": random.choice([True, False]),
        "currency": random.choice(["USD", "EUR", "GBP"]),
    }


def main():
    out = sys.stdout
    for _ in range(int(sys.argv[1])):
        out.write(json.dumps(generate_transaction()))
        out.write("\n")


main()
