"""Opens N keep-alive connections to 127.0.0.1:PORT, sends one GET on each and reads its answer
(so every connection has served a request, as a partner's pooled connection has), prints
"ready N", then holds them open until its standard input closes. bench/connections.sh."""
import selectors
import socket
import sys

count, port, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
sockets = []
selector = selectors.DefaultSelector()
waiting = {}
# In batches, so the listen backlog is never the limit being measured.
for start in range(0, count, 500):
    batch = []
    for _ in range(min(500, count - start)):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(request)
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ)
        waiting[s] = b""
        batch.append(s)
    sockets += batch
    while waiting:
        for key, _ in selector.select(timeout=10):
            s = key.fileobj
            data = s.recv(65536)
            if not data:
                sys.exit(f"a connection closed before its answer ({len(sockets)} opened)")
            waiting[s] += data
            head, _, body = waiting[s].partition(b"\r\n\r\n")
            if head and b"\r\n\r\n" in waiting[s]:
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if len(body) >= length:
                    if not head.startswith(b"HTTP/1.1 200"):
                        status = head.split(b"\r\n")[0].decode()
                        sys.exit(f"answered {status} ({len(sockets)} opened)")
                    selector.unregister(s)
                    del waiting[s]
print(f"ready {len(sockets)}", flush=True)
sys.stdin.read()
closed = 0
for s in sockets:
    s.setblocking(False)
    try:
        if s.recv(1) == b"":
            closed += 1
    except BlockingIOError:
        pass
print(f"closed by the server while held: {closed}", flush=True)
