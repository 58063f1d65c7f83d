#!/usr/bin/python3
"""A minimal HTTPS webhook receiver: verifies every POST with
wink_verify.verify_signature and answers 204 when the signature is valid,
401 (with the reason as the body) otherwise. Standard library only (plus
python3-cryptography for Ed25519 webhooks).

  python3 receiver.py --cert cert.pem --key key.pem --secret_file secret [--port 8445]

It prints "listening on https://127.0.0.1:PORT" once ready (--port 0 picks a
free port), then one line per request:

  POST /hooks/python webhook-id=evt_... verified=yes -> 204
  POST /hooks/python verified=no (webhook-signature: no matching signature) -> 401

The secret file holds the webhook's "whsec_..." secret, or for an Ed25519
webhook its "whpk_..." public key (several lines during a rotation; checking
a public key needs python3-cryptography). It is read again for every request, so the receiver can be
started before the webhook exists: CreateWebhook is what makes the secret.
A real receiver would load it once, then hand the event to a queue and
answer at once; see client/examples/receiver for the C++ one that does.
"""

import argparse
import http.server
import ssl
import sys

from wink_verify import InvalidSignature, verify_signature

MAX_BODY_BYTES = 1 << 20  # the service sends at most 256 KiB of data plus the envelope


def read_secrets(path):
    with open(path, encoding="utf-8") as f:
        secrets = [line.strip() for line in f
                   if line.strip() and not line.startswith("#")]
    if not secrets:
        raise ValueError("no secret in " + path)
    return secrets


class WebhookHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the service reuses connections
    timeout = 30  # seconds a connection may stay idle or half-sent
    secret_file = None  # set by main()

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            self.answer(413, "body too large")
            return
        body = self.rfile.read(length)  # raw bytes: verified before any parsing
        try:
            msg_id = verify_signature(read_secrets(self.secret_file), self.headers, body)
        except InvalidSignature as e:
            self.log("%s %s verified=no (%s) -> 401" % (self.command, self.path, e))
            self.answer(401, str(e))
            return
        except (OSError, ValueError) as e:  # our configuration, not the sender's fault
            self.log("%s %s cannot verify: %s -> 500" % (self.command, self.path, e))
            self.answer(500, "receiver misconfigured")
            return
        # Authentic: only now is the body trusted (json.loads(body), enqueue, ...).
        # Retries repeat webhook-id: a real receiver ignores ids it has seen.
        self.log("%s %s webhook-id=%s verified=yes -> 204" % (self.command, self.path, msg_id))
        self.answer(204, "")

    def answer(self, status, text):
        body = text.encode()
        self.send_response_only(status)
        if body:
            self.send_header("Content-Type", "text/plain")
        if status != 204:  # 204 has no body, so no length either
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log(self, line):
        print(line, flush=True)

    def log_message(self, format, *args):  # http.server's own access log: replaced by log()
        pass


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8445, help="0: any free port")
    parser.add_argument("--cert", required=True, help="PEM certificate (chain)")
    parser.add_argument("--key", required=True, help="PEM private key")
    parser.add_argument("--secret_file", required=True,
                        help='the webhook\'s "whsec_..." secret or "whpk_..." '
                             'public key, one per line')
    args = parser.parse_args()

    WebhookHandler.secret_file = args.secret_file
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server = http.server.ThreadingHTTPServer((args.host, args.port), WebhookHandler)
    # The handshake runs on the first read, in the connection's thread, so
    # that one slow client cannot hold up accept() for everyone else.
    server.socket = context.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    host, port = server.server_address[:2]
    print("listening on https://%s:%d" % (host, port), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
