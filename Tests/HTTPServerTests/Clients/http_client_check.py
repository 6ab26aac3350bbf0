"""Python's http.client (stdlib, not ours) against a running CityGate HTTP server.

Usage: http_client_check.py PORT SCENARIO. Prints one JSON object; exits non-zero on failure.
"""
import http.client
import json
import socket
import sys
import threading

port = int(sys.argv[1])
scenario = sys.argv[2]


def keep_alive():
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    ids = []
    for _ in range(3):
        conn.request("GET", "/connection")
        response = conn.getresponse()
        ids.append(response.read().decode())
        assert response.status == 200, response.status
    conn.close()
    return {"connectionIds": ids}


def chunked_upload():
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)

    def pieces():
        yield b"partner-"
        yield b"event-"
        yield b"body"

    conn.request("POST", "/echo", body=pieces(), encode_chunked=True)
    response = conn.getresponse()
    return {"status": response.status, "body": response.read().decode(),
            "bodyLength": response.getheader("X-Body-Length")}


def pipelining():
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n" * 3 + b"GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    return {"responses": data.count(b"HTTP/1.1 200 OK"), "bodies": data.count(b"hello")}


def concurrent():
    results = []
    lock = threading.Lock()

    def one(index):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", "/echo", body=str(index).encode())
            response = conn.getresponse()
            ok = response.status == 200 and response.read().decode() == str(index)
            conn.close()
        except Exception:
            ok = False
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"ok": sum(results), "total": len(results)}


def problem():
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/nowhere")
    response = conn.getresponse()
    body = json.loads(response.read())
    return {"status": response.status, "contentType": response.getheader("Content-Type"),
            "requestIdMatches": body.get("requestId") == response.getheader("X-Request-Id"),
            "type": body.get("type")}


print(json.dumps({"keep-alive": keep_alive, "chunked-upload": chunked_upload, "pipelining": pipelining,
                  "concurrent": concurrent, "problem": problem}[scenario]()))
