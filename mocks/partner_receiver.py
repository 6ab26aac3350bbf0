#!/usr/bin/env python3
"""Mock partner platforms receiving CityGate's pushes (case progress, rating invitations,
follow-up outcomes), each verified with the platform's own library from PyPI:

  standard-webhooks  standardwebhooks.Webhook.verify
  wechat             wechatpy: check_signature + WeChatCrypto.decrypt_message (safe mode, JSON)
  alipay-rsa2        python-alipay-sdk: AliPay.verify
  hmac-sha256        CityGate's documented canonical string (docs/verification.md), hmac module

  POST /push/{partner}     verify, record, answer 204 (401 when verification fails)
  GET  /_mock/pushes       everything received: [{partner, verified, message, error}]
  POST /_mock/fail?count=N the next N pushes answer 503 (retries, dead letters)

Usage: partner_receiver.py --port 0 [--config mocks/partner-receivers.json]
Prints {"mockPartners": <port>} once listening. Test-only: it trusts its config's key files.
"""
import argparse
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))


def read(path):
    with open(os.path.join(HERE, path), encoding="utf-8") as handle:
        return handle.read().strip()


class Verifiers:
    def __init__(self, config):
        self.config = config

    def verify(self, partner, headers, query, body, target):
        """Returns the decoded message; raises on any verification failure."""
        settings = self.config[partner]
        scheme = settings["scheme"]
        if scheme == "standard-webhooks":
            from standardwebhooks.webhooks import Webhook
            payload = Webhook(read(settings["secret"])).verify(body, {
                "webhook-id": headers.get("webhook-id", ""),
                "webhook-timestamp": headers.get("webhook-timestamp", ""),
                "webhook-signature": headers.get("webhook-signature", "")})
            return {"id": headers.get("webhook-id"), **payload}
        if scheme == "wechat":
            from wechatpy.crypto import WeChatCrypto
            from wechatpy.utils import check_signature
            token = read(settings["token"])
            check_signature(token, query["signature"], query["timestamp"], query["nonce"])
            if query.get("encrypt_type") != "aes":
                raise ValueError("a push must be in safe mode")
            crypto = WeChatCrypto(token, read(settings["aesKey"]), settings["appId"])
            plain = crypto.decrypt_message(json.loads(body), query["msg_signature"], query["timestamp"], query["nonce"])
            return json.loads(plain)
        if scheme == "alipay-rsa2":
            from alipay import AliPay
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            signature = form.pop("sign")
            alipay = AliPay(appid=partner, app_private_key_string=read(settings["anyPrivateKey"]),
                            alipay_public_key_string=read(settings["publicKey"]), sign_type="RSA2")
            if not alipay.verify(dict(form), signature):
                raise ValueError("sign does not verify")
            form["biz_content"] = json.loads(form["biz_content"])
            return form
        if scheme == "hmac-sha256":
            fields = dict(part.split("=", 1) for part in headers.get("x-signature", "").split(",") if "=" in part)
            timestamp = fields["t"]
            if abs(int(timestamp) - time.time()) > 300:
                raise ValueError("timestamp outside the window")
            signed = f"{timestamp}.POST.{target}.".encode() + body
            expected = hmac.new(read(settings["secret"]).encode(), signed, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, fields["v1"]):
                raise ValueError("signature mismatch")
            return json.loads(body)
        raise ValueError("unknown scheme " + scheme)


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.pushes = []
        self.fail = 0


def handler(verifiers, state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, body=b"", content_type="application/json"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/_mock/pushes":
                with state.lock:
                    body = json.dumps({"pushes": state.pushes}).encode()
                return self.reply(200, body)
            self.reply(404)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            url = urlsplit(self.path)
            if url.path == "/_mock/fail":
                with state.lock:
                    state.fail = int(dict(parse_qsl(url.query)).get("count", "1"))
                return self.reply(204)
            if not url.path.startswith("/push/"):
                return self.reply(404)
            partner = url.path[len("/push/"):]
            with state.lock:
                if state.fail > 0:
                    state.fail -= 1
                    state.pushes.append({"partner": partner, "verified": None, "refused": 503})
                    return self.reply(503, b'{"message":"try later"}')
            if partner not in verifiers.config:
                return self.reply(404)
            headers = {name.lower(): value for name, value in self.headers.items()}
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            record = {"partner": partner, "pushId": headers.get("x-citygate-push-id")}
            try:
                record["message"] = verifiers.verify(partner, headers, query, body, self.path)
                record["verified"] = True
            except Exception as error:  # any failure is a refusal, recorded with its reason
                record["verified"] = False
                record["error"] = f"{type(error).__name__}: {error}"
            with state.lock:
                state.pushes.append(record)
            self.reply(204 if record["verified"] else 401)

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--config", default=os.path.join(HERE, "partner-receivers.json"))
    arguments = parser.parse_args()
    with open(arguments.config, encoding="utf-8") as handle:
        config = json.load(handle)
    server = ThreadingHTTPServer(("127.0.0.1", arguments.port), handler(Verifiers(config), State()))
    print(json.dumps({"mockPartners": server.server_address[1]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
