"""Machine-readable contracts checked by tools nobody here wrote: openapi-spec-validator on the
gateway's OpenAPI document, schemathesis driving every documented operation through a signing
proxy, and jsonschema on the configuration files.

Reads one JSON command on stdin, prints one JSON answer.
"""
import base64
import http.client
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timezone

command = json.load(sys.stdin)


def answer(**values):
    print(json.dumps(values))
    sys.exit(0)


if command["op"] == "validate-openapi":
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename  # noqa: F401 (import checks the package)
    with urllib.request.urlopen(command["url"]) as response:
        document = json.load(response)
    try:
        validate(document)
        answer(valid=True, paths=sorted(document.get("paths", {})))
    except Exception as error:  # the validator raises its own errors
        answer(valid=False, error=str(error)[:2000])

if command["op"] == "validate-config":
    # Every file against its schema under docs/schema, the way an editor validates as one types.
    import jsonschema
    results = {}
    for path, schema_path in command["files"]:
        with open(schema_path) as handle:
            schema = json.load(handle)
        with open(path) as handle:
            instance = json.load(handle)
        validator = jsonschema.Draft202012Validator(schema)
        errors = sorted(validator.iter_errors(instance), key=lambda error: list(error.absolute_path))
        results[path] = [("$" + "".join("[%d]" % p if isinstance(p, int) else "." + p for p in error.absolute_path)
                          + ": " + error.message)[:300] for error in errors]
    answer(results=results)

if command["op"] == "schemathesis":
    import jwt
    from standardwebhooks.webhooks import Webhook
    port = command["port"]
    city = command["city"]

    def token():
        # A citizen token for every scope the city's services need: token exchange of a pyjwt assertion.
        now = int(time.time())
        assertion = jwt.encode({"iss": command["client_id"], "sub": command["citizen"], "aud": city, "iat": now,
                                "exp": now + 120, "jti": uuid.uuid4().hex, "acr": "real-name"},
                               command["assertion_secret"], algorithm="HS256",
                               headers={"kid": command["assertion_kid"]})
        form = urllib.parse.urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                                       "subject_token": assertion,
                                       "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                                       "scope": command["scope"]})
        basic = base64.b64encode(("%s:%s" % (command["client_id"], command["client_secret"])).encode()).decode()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("POST", "/oauth/token", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic " + basic})
        return json.load(connection.getresponse())["access_token"]

    bearer = token()
    statuses = {}
    lock = threading.Lock()

    class SigningProxy(http.server.BaseHTTPRequestHandler):
        """Signs whatever schemathesis sends as the partner would (Standard Webhooks over the
        exact body bytes, the citizen's token), forwards it, and counts the answers."""
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {name: value for name, value in self.headers.items()
                       if name.lower() not in ("host", "content-length", "connection", "x-partner-id",
                                               "authorization", "transfer-encoding")}
            # The partner's real id replaces whatever schemathesis generated; a request sent
            # without it, or with an empty one, goes on so (and must be refused for it).
            if self.headers.get("X-Partner-Id"):
                headers["X-Partner-Id"] = command["partner"]
            headers["Authorization"] = "Bearer " + bearer
            try:
                text = body.decode("utf-8")
                msg_id = "msg_" + uuid.uuid4().hex
                now = int(time.time())
                headers["webhook-id"] = msg_id
                headers["webhook-timestamp"] = str(now)
                headers["webhook-signature"] = Webhook(command["partner_secret"]).sign(
                    msg_id, datetime.fromtimestamp(now, tz=timezone.utc), text)
            except UnicodeDecodeError:
                pass  # not text: sent unsigned, and refused as such
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            try:
                connection.request("POST", self.path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                status = response.status
                out = [(name, value) for name, value in response.getheaders()
                       if name.lower() not in ("connection", "transfer-encoding", "content-length")]
            except Exception as error:  # a gateway that drops a connection is a failure to count
                status, data, out = 599, str(error).encode(), [("Content-Type", "text/plain")]
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
            self.send_response(status)
            for name, value in out:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SigningProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    st = os.path.join(os.path.dirname(sys.executable), "st")
    run = subprocess.run(
        [st, "run", "http://127.0.0.1:%d/v1/cities/%s/openapi.json" % (port, city),
         "--url", "http://127.0.0.1:%d" % proxy.server_address[1],
         "--max-time", str(command["max_time"]), "-w", "1", "--seed", "20261203",
         "--checks", "status_code_conformance,content_type_conformance,response_schema_conformance,"
                     "negative_data_rejection,missing_required_header",
         "--suppress-health-check", "all"],
        capture_output=True, text=True, timeout=command["max_time"] + 120)
    proxy.shutdown()
    answer(exit=run.returncode, output=run.stdout[-6000:], errors=run.stderr[-2000:],
           statuses={str(key): value for key, value in sorted(statuses.items())})

if command["op"] == "pdf-text":
    # A document the gateway passed through, opened by a PDF library nobody here wrote.
    import io
    from pypdf import PdfReader
    reader = PdfReader(io.BytesIO(base64.b64decode(command["pdf"])), strict=True)
    answer(pages=len(reader.pages), text=reader.pages[0].extract_text())

answer(error="unknown op")
