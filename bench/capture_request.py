#!/usr/bin/env python3
"""capture_request.py PORT_FILE CERT KEY OUT RESPONSE_FILE

One-shot HTTPS server on 127.0.0.1 (free port written to PORT_FILE): accepts
one connection, reads one HTTP/1.1 request, writes it verbatim (headers,
empty line, body) to OUT, answers with the JSON in RESPONSE_FILE the way the
nginx stand-in does, and exits.  run.sh uses it to learn exactly what the
provider puts on the wire, so that wrk (post.lua) sends the same bytes.
"""
import socket
import ssl
import sys

port_file, cert, key, out, response_file = sys.argv[1:6]
body = open(response_file, "rb").read()

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(1)
srv.settimeout(60)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
import os
os.rename(port_file + ".tmp", port_file)

conn, _ = srv.accept()
conn.settimeout(30)
tls = ctx.wrap_socket(conn, server_side=True)
buf = b""
while b"\r\n\r\n" not in buf:
    chunk = tls.recv(65536)
    if not chunk:
        sys.exit("capture: connection closed before the headers ended")
    buf += chunk
head, rest = buf.split(b"\r\n\r\n", 1)
length = 0
for line in head.split(b"\r\n")[1:]:
    name, _, value = line.partition(b":")
    if name.strip().lower() == b"content-length":
        length = int(value.strip())
while len(rest) < length:
    chunk = tls.recv(65536)
    if not chunk:
        break
    rest += chunk
with open(out, "wb") as f:
    # the request line is dropped: wrk writes its own "POST / HTTP/1.1"
    f.write(b"\r\n".join(head.split(b"\r\n")[1:]) + b"\r\n\r\n" + rest[:length])
tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
            b"x-amzn-RequestId: 00000000-0000-4000-8000-000000000000\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n"
            b"Connection: close\r\n\r\n" + body)
try:
    tls.unwrap()
except Exception:
    pass
tls.close()
srv.close()
