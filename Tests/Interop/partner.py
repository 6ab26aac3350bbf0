"""Partner platforms as independent implementations (PyPI packages), for CityGate's interop tests.

Reads one JSON command on stdin, prints one JSON answer. Nothing here shares code with CityGate:
signatures made here are verified by CityGate, and CityGate's signatures are verified here.
"""
import base64
import json
import sys
from datetime import datetime, timezone

command = json.load(sys.stdin)
op = command["op"]


def answer(**values):
    print(json.dumps(values))
    sys.exit(0)


if op in ("standardwebhooks-sign", "svix-sign"):
    if op == "svix-sign":
        from svix.webhooks import Webhook
    else:
        from standardwebhooks.webhooks import Webhook
    stamp = datetime.fromtimestamp(command["timestamp"], tz=timezone.utc)
    answer(signature=Webhook(command["secret"]).sign(command["id"], stamp, command["body"]))

if op in ("standardwebhooks-verify", "svix-verify"):
    if op == "svix-verify":
        from svix.webhooks import Webhook
    else:
        from standardwebhooks.webhooks import Webhook
    try:
        Webhook(command["secret"]).verify(command["body"], command["headers"])
        answer(valid=True)
    except Exception as error:  # the libraries raise their own verification errors
        answer(valid=False, error=str(error))

if op == "standardwebhooks-call":
    # A partner platform calling a city service: signs with the reference library, sends with
    # the standard library's HTTP client.
    import http.client
    import time
    import uuid
    from standardwebhooks.webhooks import Webhook
    msg_id = "msg_" + uuid.uuid4().hex
    now = int(time.time())
    signature = Webhook(command["secret"]).sign(msg_id, datetime.fromtimestamp(now, tz=timezone.utc), command["body"])
    headers = {
        "webhook-id": msg_id, "webhook-timestamp": str(now), "webhook-signature": signature,
        "X-Partner-Id": command["partner"], "Content-Type": "application/json"}
    if "tls" in command:
        # Over TLS with requests: the gateway's chain verified against the given CA, and the
        # partner's client certificate presented when one is given.
        import requests
        tls = command["tls"]
        certificate = (tls["cert"], tls["key"]) if "cert" in tls else None
        response = requests.post(
            "https://127.0.0.1:%d%s" % (command["port"], command["path"]), data=command["body"].encode(),
            headers=headers, verify=tls["ca"], cert=certificate, timeout=10)
        answer(status=response.status_code, body=response.text)
    connection = http.client.HTTPConnection("127.0.0.1", command["port"], timeout=10)
    connection.request("POST", command["path"], body=command["body"].encode(), headers=headers)
    response = connection.getresponse()
    answer(status=response.status, body=response.read().decode())

if op == "standardwebhooks-concurrent-calls":
    # A partner retrying one application from several threads at once: each attempt signed
    # afresh with the reference library, all with the same Idempotency-Key (and bearer token).
    import http.client
    import threading
    import time
    import uuid
    from standardwebhooks.webhooks import Webhook
    results = [None] * command["count"]
    start = threading.Barrier(command["count"])

    def attempt(index):
        msg_id = "msg_" + uuid.uuid4().hex
        now = int(time.time())
        signature = Webhook(command["secret"]).sign(
            msg_id, datetime.fromtimestamp(now, tz=timezone.utc), command["body"])
        connection = http.client.HTTPConnection("127.0.0.1", command["port"], timeout=10)
        headers = {
            "webhook-id": msg_id, "webhook-timestamp": str(now), "webhook-signature": signature,
            "X-Partner-Id": command["partner"], "Content-Type": "application/json",
            "Idempotency-Key": command["key"], "Authorization": "Bearer " + command["token"]}
        start.wait()
        connection.request("POST", command["path"], body=command["body"].encode(), headers=headers)
        response = connection.getresponse()
        results[index] = {"status": response.status, "body": response.read().decode(),
                          "replayed": response.getheader("Idempotent-Replayed")}

    threads = [threading.Thread(target=attempt, args=(index,)) for index in range(command["count"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answer(results=results)

if op == "wechat-signature":
    from wechatpy.utils import WeChatSigner
    signer = WeChatSigner()
    signer.add_data(*command["parts"])
    answer(signature=signer.signature)

if op == "wechat-check":
    from wechatpy.utils import check_signature
    try:
        check_signature(command["token"], command["signature"], command["timestamp"], command["nonce"])
        answer(valid=True)
    except Exception as error:
        answer(valid=False, error=str(error))

if op == "wechat-encrypt":
    from wechatpy.crypto import WeChatCrypto
    crypto = WeChatCrypto(command["token"], command["encodingAESKey"], command["appid"])
    answer(xml=crypto.encrypt_message(command["message"], command["nonce"], command["timestamp"]))

if op == "wechat-decrypt":
    from wechatpy.crypto import WeChatCrypto
    crypto = WeChatCrypto(command["token"], command["encodingAESKey"], command["appid"])
    try:
        answer(message=crypto.decrypt_message(command["xml"], command["signature"], command["timestamp"], command["nonce"]))
    except Exception as error:
        answer(message=None, error=str(error))

if op == "wechatpay-sign":
    from wechatpayv3.utils import load_private_key, rsa_sign
    key = load_private_key(command["privateKey"])
    answer(signature=rsa_sign(key, "%s\n%s\n%s\n" % (command["timestamp"], command["nonce"], command["body"])))

if op == "wechatpay-verify":
    from wechatpayv3.utils import load_public_key, rsa_verify
    key = load_public_key(command["publicKey"])
    answer(valid=rsa_verify(command["timestamp"], command["nonce"], command["body"], command["signature"], key))

if op == "wechatpay-decrypt":
    from wechatpayv3.utils import aes_decrypt
    answer(plaintext=aes_decrypt(command["nonce"], command["ciphertext"], command["associatedData"], command["apiV3Key"]))

if op == "wechatpay-encrypt":
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    sealed = AESGCM(command["apiV3Key"].encode()).encrypt(
        command["nonce"].encode(), command["plaintext"].encode(), command["associatedData"].encode())
    answer(ciphertext=base64.b64encode(sealed).decode())

if op in ("alipay-notify", "alipay-verify"):
    from alipay import AliPay
    alipay = AliPay(appid="2014072300007148", app_private_key_string=command.get("privateKey"),
                    alipay_public_key_string=command.get("publicKey"), sign_type="RSA2")
    if op == "alipay-notify":
        # Alipay signs notifications over the sorted parameters without sign and sign_type.
        data = dict(command["parameters"])
        unsigned = "&".join("{}={}".format(k, v) for k, v in sorted(data.items()))
        data["sign_type"] = "RSA2"
        data["sign"] = alipay._sign(unsigned)
        answer(parameters=data)
    data = dict(command["parameters"])
    signature = data.pop("sign")
    answer(valid=alipay.verify(data, signature))

if op in ("sm2-sign", "sm2-verify", "sm2-jws-sign", "sm2-jws-verify"):
    # gmssl (pure Python SM2/SM3) with the key the test made, read out of its PEM by the openssl
    # command as hex; gmssl works on raw r || s, the scheme on DER.
    import re
    import subprocess
    from gmssl import func, sm2
    text = subprocess.run(["openssl", "pkey", "-in", command["keyFile"], "-text", "-noout"],
                          capture_output=True, text=True, check=True).stdout

    def block(name):
        found = re.search(name + r":\n((?:\s+[0-9a-f:]+\n)+)", text)
        return found.group(1).replace(":", "").replace(" ", "").replace("\n", "")

    private = block("priv")[-64:].rjust(64, "0")
    public = block("pub")[2:]
    crypt = sm2.CryptSM2(private_key=private, public_key=public)
    message = base64.b64decode(command.get("message", ""))

    def integer(value):
        value = value.lstrip(b"\0") or b"\0"
        if value[0] & 0x80:
            value = b"\0" + value
        return b"\x02" + bytes([len(value)]) + value

    def b64url(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    if op == "sm2-jws-verify":
        # A compact JWS with alg SM2SM3: gmssl checks r || s over "header.claims" (default id).
        header, claims, signature = command["token"].split(".")
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        answer(valid=bool(crypt.verify_with_sm3(raw.hex(), (header + "." + claims).encode())),
               header=json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))))
    if op == "sm2-jws-sign":
        header = b64url(json.dumps(command["header"]).encode())
        claims = b64url(json.dumps(command["claims"]).encode())
        raw = bytes.fromhex(crypt.sign_with_sm3((header + "." + claims).encode(), func.random_hex(crypt.para_len)))
        answer(token=header + "." + claims + "." + b64url(raw))
    if op == "sm2-sign":
        raw = bytes.fromhex(crypt.sign_with_sm3(message, func.random_hex(crypt.para_len)))
        body = integer(raw[:32]) + integer(raw[32:])
        answer(signature=base64.b64encode(b"\x30" + bytes([len(body)]) + body).decode())
    der = base64.b64decode(command["signature"])
    index = 2
    r_length = der[index + 1]
    r = der[index + 2:index + 2 + r_length]
    index += 2 + r_length
    s = der[index + 2:index + 2 + der[index + 1]]
    raw = r.lstrip(b"\0").rjust(32, b"\0") + s.lstrip(b"\0").rjust(32, b"\0")
    answer(valid=bool(crypt.verify_with_sm3(raw.hex(), message)))

raise SystemExit("unknown op " + op)
