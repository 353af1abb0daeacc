#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""connect_proxy.py PORT_FILE LOG_FILE [--refuse]

A small HTTP CONNECT proxy on 127.0.0.1 for the proxy tests: it writes the
port it listens on to PORT_FILE, appends one line per request to LOG_FILE
("CONNECT host:port" or "REFUSED GET http://..."), and relays bytes both
ways for every tunnel it opens. It only tunnels to loopback addresses.
With --refuse it answers every CONNECT with 403. Only non-CONNECT requests
are refused in every mode (405): the provider must tunnel, never send KMS
requests to the proxy in the clear.
"""
import os
import socket
import sys
import threading

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
log_lock = threading.Lock()


def log(path, line):
    with log_lock, open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def relay(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk or len(data) > 65536:
            return None
        data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1")


def answer(conn, status):
    conn.sendall(("HTTP/1.1 %s\r\nContent-Length: 0\r\n\r\n" % status).encode())


def serve(conn, log_path, refuse):
    upstream = None
    try:
        line = read_head(conn)
        if line is None:
            return
        parts = line.split()
        if len(parts) != 3 or parts[0] != "CONNECT":
            log(log_path, "REFUSED " + " ".join(parts[:2]))
            answer(conn, "405 Method Not Allowed")
            return
        host, _, port = parts[1].rpartition(":")
        host = host.strip("[]")
        if refuse or host not in LOOPBACK or not port.isdigit():
            log(log_path, "REFUSED CONNECT " + parts[1])
            answer(conn, "403 Forbidden")
            return
        log(log_path, "CONNECT " + parts[1])
        upstream = socket.create_connection((host, int(port)), timeout=10)
        upstream.settimeout(None)
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        back = threading.Thread(target=relay, args=(upstream, conn), daemon=True)
        back.start()
        relay(conn, upstream)
        back.join()
    except OSError:
        pass
    finally:
        conn.close()
        if upstream is not None:
            upstream.close()


def main():
    if len(sys.argv) not in (3, 4) or (len(sys.argv) == 4 and sys.argv[3] != "--refuse"):
        sys.exit("usage: connect_proxy.py PORT_FILE LOG_FILE [--refuse]")
    port_file, log_path = sys.argv[1], sys.argv[2]
    refuse = len(sys.argv) == 4
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    open(log_path, "a").close()
    with open(port_file + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    # Renamed into place, so a reader never sees a half-written port.
    os.replace(port_file + ".tmp", port_file)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, log_path, refuse),
                         daemon=True).start()


if __name__ == "__main__":
    main()
