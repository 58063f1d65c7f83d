#!/usr/bin/python3
"""Wink Webhooks from Python: creates a webhook, publishes an event to it and
watches the delivery until it succeeds, with the stubs generate_stubs.sh makes.

  client/examples/python/generate_stubs.sh build/python-stubs
  export WEBHOOKS_TOKEN=$(cat var/dev-token)
  PYTHONPATH=build/python-stubs python3 client/examples/python/wink_example.py \\
      --account acme-hotels --url https://127.0.0.1:8445/hooks/python \\
      --secret_file var/python-example/secret

The token comes from $WEBHOOKS_TOKEN only (a flag would show it in `ps`).
Exit status: 0 when the delivery succeeded; 1 when it failed, the watch timed
out or the server answered an error; 2 for bad arguments.
"""

import argparse
import json
import os
import sys
import time
import uuid

import grpc

from wink.webhooks.v1 import delivery_service_pb2 as delivery_pb
from wink.webhooks.v1 import delivery_service_pb2_grpc as delivery_grpc
from wink.webhooks.v1 import webhook_service_pb2 as webhook_pb
from wink.webhooks.v1 import webhook_service_pb2_grpc as webhook_grpc

CALL_TIMEOUT_SECONDS = 10  # per unary call, as the C++ client's default
TERMINAL_STATES = (delivery_pb.DELIVERY_STATE_SUCCEEDED, delivery_pb.DELIVERY_STATE_FAILED,
                   delivery_pb.DELIVERY_STATE_CANCELLED)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default=os.environ.get("WEBHOOKS_ADDR", "127.0.0.1:50051"),
                        help="server HOST:PORT (default $WEBHOOKS_ADDR, else %(default)s)")
    parser.add_argument("--cacert", help="talk TLS, trusting the CA certificates in this "
                        "PEM file (default: plaintext, e.g. to a server on loopback)")
    parser.add_argument("--tls", action="store_true",
                        help="talk TLS, trusting the system's CAs")
    parser.add_argument("--account", required=True, help="e.g. acme-hotels")
    parser.add_argument("--url", required=True, help="the receiver's https:// URL")
    parser.add_argument("--event_type", default="booking.created")
    parser.add_argument("--data", default='{"booking_id": "B-1", "nights": 3}',
                        help="the event's payload, a JSON object")
    parser.add_argument("--secret_file",
                        help="write the new webhook's signing secret here (mode 600) "
                        "instead of printing it")
    parser.add_argument("--watch_timeout", type=float, default=60,
                        help="seconds to wait for the delivery (default %(default)s)")
    parser.add_argument("--keep_webhook", action="store_true",
                        help="do not delete the webhook at the end (to try webhookctl on it)")
    args = parser.parse_args()
    args.token = os.environ.get("WEBHOOKS_TOKEN", "").strip()
    if not args.token:
        parser.error("$WEBHOOKS_TOKEN is not set: export WEBHOOKS_TOKEN=<your token> "
                     "(scripts/run.sh prints the dev token)")
    return args


def open_channel(args):
    if args.cacert:
        with open(args.cacert, "rb") as f:
            return grpc.secure_channel(args.target, grpc.ssl_channel_credentials(f.read()))
    if args.tls:
        return grpc.secure_channel(args.target, grpc.ssl_channel_credentials())
    return grpc.insecure_channel(args.target)


def write_secret(path, secret):
    # The secret is shown once (CreateWebhook, RotateWebhookSecret); keep it
    # readable by its owner only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")


def describe(delivery):
    state = delivery_pb.DeliveryState.Name(delivery.state).replace("DELIVERY_STATE_", "")
    line = "delivery %s %s attempts=%d" % (delivery.name, state, delivery.attempt_count)
    if delivery.HasField("last_attempt"):
        attempt = delivery.last_attempt
        line += " http=%d" % attempt.http_status
        if attempt.error:
            line += " error=%r" % attempt.error
    return line


def watch_delivery(deliveries, metadata, parent, webhook, event, cursor, timeout):
    """Follows the delivery of `event` to `webhook` from `cursor` on until it
    is SUCCEEDED, FAILED or CANCELLED, printing every update; returns that
    final state. Raises grpc.RpcError (DEADLINE_EXCEEDED after `timeout`
    seconds).

    WatchDeliveries never ends on its own; when it breaks it is opened again
    after the last cursor seen, which is how the service guarantees every
    update once and in order. Breaks are UNAVAILABLE (server shutting down or
    unreachable) and CANCELLED: gRPC cancels calls that reach a server while
    it shuts down (this code cancels only a finished watch, and returns).
    """
    request = delivery_pb.WatchDeliveriesRequest(parent=parent, webhook=webhook, event=event)
    deadline = time.monotonic() + timeout
    while True:
        request.start_cursor = cursor
        stream = deliveries.WatchDeliveries(request, metadata=metadata,
                                            timeout=max(deadline - time.monotonic(), 0))
        try:
            for update in stream:
                cursor = update.cursor
                print(describe(update.delivery), flush=True)
                if update.delivery.state in TERMINAL_STATES:
                    stream.cancel()  # done: end the call instead of waiting for the deadline
                    return update.delivery.state
        except grpc.RpcError as e:
            if (e.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
                    or time.monotonic() >= deadline):
                raise
            print("watch: %s; resuming after cursor %d" % (e.details(), cursor),
                  file=sys.stderr, flush=True)
            time.sleep(1)  # the server is restarting: don't spin


def main():
    args = parse_args()
    # Checked here for a clear message; the server checks it too
    # (INVALID_ARGUMENT).
    try:
        is_object = isinstance(json.loads(args.data), dict)
    except json.JSONDecodeError:
        is_object = False
    if not is_object:
        print("error: --data must be a JSON object", file=sys.stderr)
        return 2

    parent = "accounts/" + args.account
    # Every call carries the bearer token; the service scopes it to accounts.
    metadata = (("authorization", "Bearer " + args.token),)
    try:
        channel = open_channel(args)
    except OSError as e:
        print("error: --cacert: %s" % e, file=sys.stderr)
        return 2
    with channel:
        webhooks = webhook_grpc.WebhookServiceStub(channel)
        deliveries = delivery_grpc.DeliveryServiceStub(channel)
        try:
            # 1. What can be subscribed to (the first page is all of today's catalogue).
            types = webhooks.ListEventTypes(
                webhook_pb.ListEventTypesRequest(parent=parent, page_size=100),
                metadata=metadata, timeout=CALL_TIMEOUT_SECONDS)
            names = [t.name for t in types.event_types]
            print("event types: %s" % ", ".join(names))
            if args.event_type not in names:
                print("error: %s is not in the catalogue" % args.event_type, file=sys.stderr)
                return 2

            # 2. A webhook for that type. request_id makes a retry of this call
            # return the same webhook instead of creating a second one.
            webhook = webhooks.CreateWebhook(
                webhook_pb.CreateWebhookRequest(
                    parent=parent, request_id=str(uuid.uuid4()),
                    webhook=webhook_pb.Webhook(display_name="Python example", url=args.url,
                                               event_types=[args.event_type])),
                metadata=metadata, timeout=CALL_TIMEOUT_SECONDS)
            print("webhook: %s -> %s" % (webhook.name, webhook.url))
        except grpc.RpcError as e:
            print("error: %s: %s" % (e.code().name, e.details()), file=sys.stderr)
            return 1
        try:
            return publish_and_watch(args, webhooks, deliveries, metadata, parent, webhook)
        except grpc.RpcError as e:
            print("error: %s: %s" % (e.code().name, e.details()), file=sys.stderr)
            return 1
        finally:
            # Otherwise every run leaves a webhook behind whose secret the
            # next run overwrites, and the receiver answers its deliveries 401.
            if not args.keep_webhook:
                delete_webhook(webhooks, metadata, webhook.name)


def publish_and_watch(args, webhooks, deliveries, metadata, parent, webhook):
    # The signing secret is in the CreateWebhook response only; the receiver
    # needs it.
    if args.secret_file:
        write_secret(args.secret_file, webhook.secret)
        print("secret: written to %s" % args.secret_file)
    else:
        print("secret: %s" % webhook.secret)

    # 3. Publish. data_json is delivered byte for byte (a Struct in `data`
    # would be re-encoded, numbers as doubles). The idempotency key makes a
    # retry after a lost answer a replay, not a second event; a real producer
    # uses the id of the business change (e.g. "booking-B-1-created") so that
    # its own retries are replays too.
    published = webhooks.PublishEvent(
        webhook_pb.PublishEventRequest(
            parent=parent, event_type=args.event_type,
            data_json=args.data.encode(), idempotency_key=str(uuid.uuid4())),
        metadata=metadata, timeout=CALL_TIMEOUT_SECONDS)
    event = published.event
    print("event: %s matched_webhooks=%d watch_cursor=%d" %
          (event.name, published.matched_webhook_count, published.watch_cursor))

    # 4. Watch the event's delivery to our webhook, from its creation
    # (watch_cursor) on, until it is done.
    state = watch_delivery(deliveries, metadata, parent, webhook.name, event.name,
                           published.watch_cursor, args.watch_timeout)
    if state != delivery_pb.DELIVERY_STATE_SUCCEEDED:
        print("error: the delivery did not succeed (GetDelivery shows every attempt)",
              file=sys.stderr)
        return 1
    print("delivered: %s/deliveries/%s" % (webhook.name, event.id))
    return 0


def delete_webhook(webhooks, metadata, name):
    try:
        webhooks.DeleteWebhook(webhook_pb.DeleteWebhookRequest(name=name),
                               metadata=metadata, timeout=CALL_TIMEOUT_SECONDS)
        print("deleted: %s" % name)
    except grpc.RpcError as e:
        print("warning: could not delete %s: %s: %s" % (name, e.code().name, e.details()),
              file=sys.stderr)

if __name__ == "__main__":
    sys.exit(main())
