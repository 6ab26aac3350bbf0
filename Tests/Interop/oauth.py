"""OAuth clients nobody here wrote (authlib, requests-oauthlib, pyjwt) against a running CityGate.

Reads one JSON command on stdin, prints one JSON answer of what each library saw. The Swift test
asserts on it. Partner signatures on service calls come from the standardwebhooks library.
"""
import http.client
import json
import os
import sys
import time
import uuid
from datetime import datetime, timezone

# The gateway under test listens on loopback without TLS; oauthlib refuses plain http otherwise.
os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"

import jwt  # noqa: E402 (after the environment is set)
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session as RequestsOAuth2Session

command = json.load(sys.stdin)
base = "http://127.0.0.1:%d" % command["port"]
token_url = base + "/oauth/token"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"


def answer(**values):
    print(json.dumps(values))
    sys.exit(0)


def assertion(subject, acr="real-name", city="330100"):
    """The partner's signed statement about a citizen, made with pyjwt (HS256)."""
    now = int(time.time())
    claims = {"iss": command["client_id"], "sub": subject, "aud": city, "iat": now, "exp": now + 120,
              "jti": uuid.uuid4().hex, "acr": acr}
    return jwt.encode(claims, command["assertion_secret"], algorithm="HS256", headers={"kid": command["assertion_kid"]})


def signed_call(path, body, token):
    """A partner call: Standard Webhooks signature from the reference library plus the bearer token."""
    from standardwebhooks.webhooks import Webhook
    msg_id = "msg_" + uuid.uuid4().hex
    now = int(time.time())
    signature = Webhook(command["partner_secret"]).sign(msg_id, datetime.fromtimestamp(now, tz=timezone.utc), body)
    connection = http.client.HTTPConnection("127.0.0.1", command["port"], timeout=10)
    connection.request("POST", path, body=body.encode(), headers={
        "webhook-id": msg_id, "webhook-timestamp": str(now), "webhook-signature": signature,
        "X-Partner-Id": command["partner"], "Content-Type": "application/json",
        "Authorization": "Bearer " + token})
    response = connection.getresponse()
    return {"status": response.status, "body": response.read().decode(),
            "www": response.getheader("WWW-Authenticate")}


def error_of(call):
    try:
        call()
        return None
    except OAuthError as error:
        return error.error
    except Exception as error:  # requests-oauthlib raises oauthlib's own error classes
        return getattr(error, "error", type(error).__name__)


if command["op"] == "flow":
    results = {}
    cid, secret = command["client_id"], command["client_secret"]

    # client_credentials with authlib (client_secret_basic) and requests-oauthlib (its own default).
    session = OAuth2Session(cid, secret, token_endpoint_auth_method="client_secret_basic", scope="halls.read")
    token = session.fetch_token(token_url, grant_type="client_credentials", audience="330100")
    results["authlibClientCredentials"] = {k: token.get(k) for k in ("token_type", "scope", "expires_in")}
    results["authlibClientCredentialsRefresh"] = "refresh_token" in token
    post = OAuth2Session(cid, secret, token_endpoint_auth_method="client_secret_post")
    results["authlibClientSecretPost"] = post.fetch_token(
        token_url, grant_type="client_credentials", audience="330100").get("token_type")
    legacy = RequestsOAuth2Session(client=BackendApplicationClient(client_id=cid))
    legacy_token = legacy.fetch_token(token_url=token_url, client_id=cid, client_secret=secret, audience="330100")
    results["requestsOAuthlib"] = {k: legacy_token.get(k) for k in ("token_type", "expires_in")}
    if command.get("single_city_client_id"):
        # A partner of one city: authlib's fetch_token exactly as its documentation shows it,
        # with no audience, gets a token for that city.
        single = OAuth2Session(command["single_city_client_id"], command["single_city_client_secret"])
        single_token = single.fetch_token(token_url, grant_type="client_credentials")
        results["singleCityAudience"] = jwt.decode(single_token["access_token"], options={"verify_signature": False})["aud"]
    results["wrongSecret"] = error_of(lambda: OAuth2Session(cid, "not-the-secret").fetch_token(
        token_url, grant_type="client_credentials", audience="330100"))

    # Token exchange (RFC 8693) through authlib's generic grant support. A session without a
    # default scope: on refresh, authlib would resend it, and asking for a scope the grant does
    # not hold is invalid_scope (RFC 6749 §6).
    session = OAuth2Session(cid, secret, token_endpoint_auth_method="client_secret_basic")
    citizen = session.fetch_token(token_url, grant_type=EXCHANGE, subject_token=assertion(command["citizen"]),
                                  subject_token_type=JWT_TYPE, scope="social-security.read permit.read")
    results["exchangeScope"] = citizen.get("scope")
    results["exchangeHasRefresh"] = "refresh_token" in citizen

    # pyjwt checks our access token against the published JWKS.
    metadata = json.loads(session.get(base + "/.well-known/oauth-authorization-server").text)
    keys = jwt.PyJWKClient(metadata["jwks_uri"])
    signing_key = keys.get_signing_key_from_jwt(citizen["access_token"])
    claims = jwt.decode(citizen["access_token"], signing_key.key, algorithms=["EdDSA"], audience="330100",
                        issuer=metadata["issuer"])
    results["claims"] = {k: claims.get(k) for k in ("aud", "acr", "partner", "client_id", "scope")}
    results["subjectIsHashed"] = claims["sub"] != command["citizen"] and command["citizen"] not in citizen["access_token"]
    results["otherAudienceRefused"] = error_of(lambda: jwt.decode(
        citizen["access_token"], signing_key.key, algorithms=["EdDSA"], audience="440300")) is not None

    results["call"] = signed_call("/v1/cities/330100/services/social-security.account/balance",
                                  '{"year":2026}', citizen["access_token"])

    introspection = session.introspect_token(base + "/oauth/introspect", citizen["access_token"]).json()
    results["introspection"] = {k: introspection.get(k) for k in ("active", "aud", "acr", "scope")}

    # Refresh with rotation; a reused refresh token revokes its family.
    first_refresh = citizen["refresh_token"]
    renewed = session.refresh_token(token_url, refresh_token=first_refresh)
    results["refreshRotated"] = renewed["refresh_token"] != first_refresh
    results["refreshedCall"] = signed_call("/v1/cities/330100/services/social-security.account/balance",
                                           '{"year":2025}', renewed["access_token"])["status"]
    results["reuse"] = error_of(lambda: session.refresh_token(token_url, refresh_token=first_refresh))
    results["familyAfterReuse"] = error_of(lambda: session.refresh_token(token_url, refresh_token=renewed["refresh_token"]))
    results["callAfterReuse"] = signed_call("/v1/cities/330100/services/social-security.account/balance",
                                            '{"year":2024}', renewed["access_token"])["status"]

    # RFC 7009 revocation of an access token, seen by introspection and by the call route.
    fresh = session.fetch_token(token_url, grant_type=EXCHANGE, subject_token=assertion(command["citizen"]),
                                subject_token_type=JWT_TYPE)
    revoke = session.revoke_token(base + "/oauth/revoke", fresh["access_token"], token_type_hint="access_token")
    results["revokeStatus"] = revoke.status_code
    results["introspectRevoked"] = session.introspect_token(
        base + "/oauth/introspect", fresh["access_token"]).json().get("active")
    results["callRevoked"] = signed_call("/v1/cities/330100/services/social-security.account/balance",
                                         '{"year":2026}', fresh["access_token"])
    answer(**results)

if command["op"] == "every-service":
    # A partner app doing what it does for a citizen: one token exchange with authlib (assertion
    # from pyjwt), then every call signed by the standardwebhooks library, sent with http.client.
    session = OAuth2Session(command["client_id"], command["client_secret"], token_endpoint_auth_method="client_secret_basic")
    citizen = session.fetch_token(token_url, grant_type=EXCHANGE, subject_token=assertion(command["citizen"], city=command["city"]),
                                  subject_token_type=JWT_TYPE, scope=command["scope"])
    calls = []
    case_number = ""
    for call in command["calls"]:
        # "{caseNumber}" in a body is the case number an earlier call in the list answered with:
        # the backend lets only the applicant follow a case.
        body = call["body"].replace("{caseNumber}", case_number)
        result = signed_call(call["path"], body, citizen["access_token"])
        calls.append({"path": call["path"], "status": result["status"], "body": result["body"]})
        try:
            case_number = json.loads(result["body"]).get("caseNumber", case_number)
        except (ValueError, AttributeError):
            pass
    answer(scope=citizen.get("scope"), calls=calls)

answer(error="unknown op")
