#!/usr/bin/env python3
"""The reference stack RaceLab is measured against: a purchase worker in Python (pika + psycopg2).

It is the plain way to write this worker, the way the project's seeds had it: one blocking pika
connection, prefetch, and per request `BEGIN; SELECT ... FOR UPDATE; UPDATE; INSERT; COMMIT` with
psycopg2 (one round trip per statement), then the outcome published to racelab.outcomes and the
request acked. It speaks RaceLab's message formats (requests, gate signals, outcomes), so the same
`racelab run --workers 0` harness drives it. Pessimistic strategy only: it is a baseline, not a lab.

    python3 worker.py --postgres-url URL --amqp-url URL [--prefetch 16] [--name NAME]
"""
import argparse
import json
import os
import socket
import sys
import time

import pika
import psycopg2

PURCHASES = "racelab.purchases"
OUTCOMES = "racelab.outcomes"
CONTROL = "racelab.control"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=os.environ.get("RACELAB_POSTGRES_URL"))
    parser.add_argument("--amqp-url", default=os.environ.get("RACELAB_AMQP_URL"))
    parser.add_argument("--prefetch", type=int, default=16)
    parser.add_argument("--name", default=f"python:{socket.gethostname()}:{os.getpid()}")
    args = parser.parse_args()
    if not args.postgres_url or not args.amqp_url:
        sys.exit("worker.py: set RACELAB_POSTGRES_URL and RACELAB_AMQP_URL (eval \"$(racelab up)\") or pass the URLs")

    db = psycopg2.connect(args.postgres_url, application_name="python-baseline")
    connection = pika.BlockingConnection(pika.URLParameters(args.amqp_url))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=args.prefetch)
    control = channel.queue_declare(queue="", exclusive=True, auto_delete=True).method.queue
    channel.queue_bind(control, CONTROL)

    opened = set()
    held = []

    def settle(method, request):
        outcome = "soldOut"
        with db.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT stock FROM items WHERE id = %s FOR UPDATE", (request["itemId"],))
            row = cursor.fetchone()
            if row is not None and row[0] >= request.get("quantity", 1):
                cursor.execute(
                    "UPDATE items SET stock = stock - %s, version = version + 1 WHERE id = %s",
                    (request.get("quantity", 1), request["itemId"]),
                )
                cursor.execute(
                    "INSERT INTO orders (request_id, run_id, item_id, buyer_id, quantity, strategy) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (request["requestId"], request["runId"], request["itemId"], request["buyerId"],
                     request.get("quantity", 1), request["strategy"]),
                )
                outcome = "purchased"
            cursor.execute("COMMIT")
        body = json.dumps({
            "requestId": request["requestId"], "runId": request["runId"], "itemId": request["itemId"],
            "strategy": request["strategy"], "outcome": outcome, "retries": 0, "worker": args.name,
            "finishedAt": time.time_ns(),
        })
        channel.basic_publish(OUTCOMES, "run." + request["runId"], body,
                              pika.BasicProperties(content_type="application/json"))
        channel.basic_ack(method.delivery_tag)

    def on_request(channel_, method, properties, body):
        request = json.loads(body)
        if request.get("gated") and request["runId"] not in opened:
            held.append((method, request))
            return
        settle(method, request)

    def on_control(channel_, method, properties, body):
        signal = json.loads(body)
        if signal.get("kind") != "open":
            return
        opened.add(signal["runId"])
        ready = [entry for entry in held if entry[1]["runId"] == signal["runId"]]
        held[:] = [entry for entry in held if entry[1]["runId"] != signal["runId"]]
        for method, request in ready:
            settle(method, request)

    db.autocommit = True  # BEGIN/COMMIT are sent explicitly, as the Swift worker does
    channel.basic_consume(control, on_control, auto_ack=True)
    channel.basic_consume(PURCHASES, on_request)
    try:
        channel.start_consuming()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
