"""Partner platforms pushing events to a running CityGate, signed by independent libraries.

Reads one JSON command on stdin, sends the event over HTTP, prints the status, headers and body
the gateway answered (the acknowledgement each platform expects is checked byte for byte by the
Swift test).
"""
import base64
import http.client
import json
import sys
import time
import urllib.parse
import uuid
from datetime import datetime, timezone

command = json.load(sys.stdin)
op = command["op"]


def send(method, target, body=b"", headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", command["port"], timeout=10)
    connection.request(method, target, body=body, headers=headers or {})
    response = connection.getresponse()
    payload = response.read()
    print(json.dumps({"status": response.status, "body": payload.decode("utf-8", "replace"),
                      "headers": {k.lower(): v for k, v in response.getheaders()}}))
    sys.exit(0)


if op == "standardwebhooks":
    from standardwebhooks.webhooks import Webhook
    msg_id = command.get("id") or "msg_" + uuid.uuid4().hex
    now = int(time.time())
    body = json.dumps(command["event"])
    signature = Webhook(command["secret"]).sign(msg_id, datetime.fromtimestamp(now, tz=timezone.utc), body)
    send("POST", "/v1/partners/webhooks-demo/events", body.encode(), {
        "webhook-id": msg_id, "webhook-timestamp": str(now), "webhook-signature": signature,
        "Content-Type": "application/json"})

if op == "wechat":
    from wechatpy.crypto import WeChatCrypto
    crypto = WeChatCrypto(command["token"], command["encodingAESKey"], command["appid"])
    nonce, timestamp = uuid.uuid4().hex[:10], str(int(time.time()))
    envelope = crypto.encrypt_message(command["message"], nonce, timestamp)
    signature = envelope.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    query = urllib.parse.urlencode({"msg_signature": signature, "timestamp": timestamp, "nonce": nonce,
                                    "encrypt_type": "aes"})
    send("POST", "/v1/partners/wechat-city/events?" + query, envelope.encode(), {"Content-Type": "text/xml"})

if op == "wechat-url":
    from wechatpy.utils import WeChatSigner
    nonce, timestamp = uuid.uuid4().hex[:10], str(int(time.time()))
    signer = WeChatSigner()
    signer.add_data(command["token"], timestamp, nonce)
    query = urllib.parse.urlencode({"signature": signer.signature, "timestamp": timestamp, "nonce": nonce,
                                    "echostr": command["echostr"]})
    send("GET", "/v1/partners/wechat-city/events?" + query)

if op == "wechatpay":
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from wechatpayv3.utils import load_private_key, rsa_sign
    resource_nonce = uuid.uuid4().hex[:12]
    sealed = AESGCM(command["apiV3Key"].encode()).encrypt(
        resource_nonce.encode(), json.dumps(command["resource"]).encode(), b"transaction")
    body = json.dumps({
        "id": command["id"], "create_time": "2026-12-01T10:00:00+08:00", "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
        "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                     "ciphertext": base64.b64encode(sealed).decode(), "associated_data": "transaction",
                     "nonce": resource_nonce}})
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex
    signature = rsa_sign(load_private_key(command["privateKey"]), "%s\n%s\n%s\n" % (timestamp, nonce, body))
    send("POST", "/v1/partners/wechatpay-city/events", body.encode(), {
        "Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": nonce, "Wechatpay-Signature": signature,
        "Wechatpay-Serial": command["serial"], "Content-Type": "application/json"})

if op == "alipay":
    from alipay import AliPay
    alipay = AliPay(appid="2021000000000001", app_private_key_string=command["privateKey"],
                    alipay_public_key_string=command["publicKey"], sign_type="RSA2")
    data = dict(command["parameters"])
    unsigned = "&".join("{}={}".format(k, v) for k, v in sorted(data.items()))
    data["sign_type"] = "RSA2"
    data["sign"] = alipay._sign(unsigned)
    send("POST", "/v1/partners/alipay-city/events", urllib.parse.urlencode(data).encode(),
         {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})

raise SystemExit("unknown op " + op)
