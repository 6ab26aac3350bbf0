#!/usr/bin/env bash
# Regenerates the TEST-ONLY demo keys under mocks/keys for the sample partners.
set -euo pipefail
cd "$(dirname "$0")/../mocks/keys"
rand() { head -c "$1" /dev/urandom | base64 -w0; }
echo "whsec_$(rand 24)" >webhooks-demo.secret
rand 24 >hmac-demo.secret
echo "citygate-demo-token-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')" >wechat-city.token
rand 32 | cut -c1-43 >wechat-city.aeskey
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >wechatpay-city.apiv3key
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=WeChat Pay demo platform (TEST ONLY)" \
    -keyout wechatpay-platform.key -out wechatpay-platform.pem 2>/dev/null
openssl genrsa -out alipay-platform.key 2048 2>/dev/null
openssl rsa -in alipay-platform.key -pubout -out alipay-platform.pub 2>/dev/null
# OAuth clients (secrets; the partner files hold only their PBKDF2 hashes, made with
# `citygate hash-secret`) and the keys that sign their citizen assertions: HS256, EdDSA, RS256.
for partner in webhooks-demo wechat-city alipay-city hmac-demo; do
    echo "client-$(head -c 24 /dev/urandom | base64 -w0 | tr '+/' '-_')" >"$partner-client.secret"
done
head -c 32 /dev/urandom | base64 -w0 >webhooks-demo-assertion.secret
openssl genpkey -algorithm ed25519 -out wechat-city-assertion.key 2>/dev/null
openssl pkey -in wechat-city-assertion.key -pubout -out wechat-city-assertion.pub 2>/dev/null
openssl genrsa -out alipay-city-assertion.key 2048 2>/dev/null
openssl rsa -in alipay-city-assertion.key -pubout -out alipay-city-assertion.pub 2>/dev/null
echo "Now update secretHash in manifests/partners/*.json: citygate hash-secret < mocks/keys/<partner>-client.secret"
# Case progress: the key each city's approvals backend signs its reports with (hmac-sha256), and
# the RSA key pushes to the Alipay-style partner are signed with (the app's own key).
rand 32 >approvals-330100-progress.secret
openssl genrsa -out alipay-city-push.key 2048 2>/dev/null
openssl rsa -in alipay-city-push.key -pubout -out alipay-city-push.pub 2>/dev/null
# Backend credentials (cities' `credentials`): the approvals system's OAuth client secret and the
# traffic police system's API key; the mock backends read the same files.
head -c 24 /dev/urandom | base64 | tr '+/' '-_' >approvals-oauth-client.secret
head -c 24 /dev/urandom | base64 | tr '+/' '-_' >traffic-api-key.secret
# The key rating comments and follow-up notes are sealed with at rest (SM4-GCM, 16 bytes in hex).
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >data-2026-12.key
