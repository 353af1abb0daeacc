#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""hostile_server.py --mode MODE --tls-dir DIR --port-file F --log F
                    [--port 0] [--count N] [--idle-ms 500]

A KMS ReEncrypt stand-in over TLS on 127.0.0.1 with one misbehaviour per
instance, for the transport tests (test/integration/hostile.sh). Python 3
standard library only. It does not check SigV4: it parses the HTTP/1.1
request (Content-Length framing, keep-alive, one thread per connection),
takes the JSON body's CiphertextBlob (short ASCII such as INPUT-CHILD2-R17)
and answers

  {"CiphertextBlob": base64("NEWBLOB-FOR:" + input), "KeyId": ARN, ...}

with an x-amzn-RequestId header, so a client can tell whose answer it got.

TLS: DIR/server.pem and DIR/server.key (test/kms-server/make-tls.sh DIR).
ALPN: "http/1.1" only, except in mode alpn-h2.

Modes:
  normal            keep-alive, Content-Length
  idle-close        closes a connection idle for --idle-ms (default 500):
                    TLS close_notify, then FIN
  idle-close-rst    the same, but a bare TCP reset (no close_notify)
  extra-bytes       after each answer, a pause (--extra-ms, 100) and then a
                    whole second answer for another input (EXTRA-C<conn>-R<req>)
                    as its own TLS record
  dribble           each answer one byte per TLS record
  chunked           Transfer-Encoding: chunked, one chunk per TLS record
  connection-close  "Connection: close" on every answer, then close
  continue          "HTTP/1.1 100 Continue" (its own record) before each answer
  close-mid-body    headers and half the body, then the connection is cut;
                    with --count N only the first N requests are cut and the
                    later ones answered normally
  never-answer      reads the request, never answers (holds the connection)
  no-handshake      accepts TCP and never speaks TLS
  alpn-h2           ALPN "h2", "http/1.1" (h2 preferred); a connection that
                    negotiates h2 is logged, gets a SETTINGS and a GOAWAY
                    frame (this server cannot speak h2) and is closed

Log (--log, one line per event, flushed at once):
  conn=C open alpn=P                  C counts accepted connections from 1
  conn=C req=R n=N key=K input=I answered
                                      R counts requests on that connection,
                                      N all requests; K: the access key id
                                      of the request's SigV4 Credential
  conn=C req=R n=N key=K input=I cut-mid-body | unanswered | extra-sent=...
  conn=C h2-negotiated first-bytes=...
  conn=C close reason=...
  n=N                                 N counts requests over the server (also
                                      in every req line, as n=N)
"""
import argparse
import base64
import binascii
import json
import os
import re
import socket
import ssl
import struct
import sys
import threading
import time
import uuid

MODES = (
    "normal",
    "idle-close",
    "idle-close-rst",
    "extra-bytes",
    "dribble",
    "chunked",
    "connection-close",
    "continue",
    "close-mid-body",
    "never-answer",
    "no-handshake",
    "alpn-h2",
)
ACCOUNT = "111122223333"
DEST_ARN = "arn:aws:kms:us-east-1:%s:key/0b7e5c3a-6f1d-4c2e-9a8b-1d2e3f4a5b6c" % ACCOUNT
SOURCE_ARN = "arn:aws:kms:us-east-1:%s:key/9c8b7a6f-5e4d-4c3b-8a29-1f0e2d3c4b5a" % ACCOUNT
MAX_HEAD = 65536
MAX_BODY = 1 << 20
# How long a connection may sit idle between requests in the modes that do
# not close idle connections on purpose (the thread then ends).
SERVER_IDLE_S = 60.0


class Server:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.log_file = open(args.log, "a", encoding="utf-8")
        self.n_conns = 0
        self.n_requests = 0

    def log(self, line):
        with self.lock:
            self.log_file.write(line + "\n")
            self.log_file.flush()

    def next_conn(self):
        with self.lock:
            self.n_conns += 1
            return self.n_conns

    def next_request(self):
        with self.lock:
            self.n_requests += 1
            return self.n_requests


class PeerClosed(Exception):
    pass


def printable(data):
    """Bytes as a log word: ASCII kept, anything else escaped."""
    out = []
    for b in data:
        if 0x21 <= b <= 0x7E and b != 0x5C:
            out.append(chr(b))
        else:
            out.append("\\x%02x" % b)
    return "".join(out) or "-"


def answer_body(inp):
    blob = b"NEWBLOB-FOR:" + inp
    return json.dumps({
        "CiphertextBlob": base64.b64encode(blob).decode("ascii"),
        "KeyId": DEST_ARN,
        "SourceKeyId": SOURCE_ARN,
        "SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }).encode("ascii")


def error_body(kind, message):
    return json.dumps({"__type": kind, "message": message}).encode("ascii")


def response_head(status, body_len, extra=()):
    reason = {200: "OK", 400: "Bad Request"}.get(status, "Status")
    lines = [
        "HTTP/1.1 %d %s" % (status, reason),
        "x-amzn-RequestId: %s" % uuid.uuid4(),
        "Content-Type: application/x-amz-json-1.1",
        "Date: %s" % time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()),
    ]
    if body_len is not None:
        lines.append("Content-Length: %d" % body_len)
    lines.extend(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


class Connection:
    def __init__(self, server, sock, number):
        self.server = server
        self.sock = sock
        self.number = number
        self.buf = b""
        self.n_requests = 0

    def log(self, text):
        self.server.log("conn=%d %s" % (self.number, text))

    def recv_more(self, timeout):
        self.sock.settimeout(timeout)
        data = self.sock.recv(65536)
        if not data:
            raise PeerClosed()
        self.buf += data

    def read_request(self, idle_timeout):
        """(method, target, headers, body) or None when the client closed
        between requests. socket.timeout propagates when idle too long."""
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > MAX_HEAD:
                raise ValueError("request head too large")
            try:
                self.recv_more(idle_timeout if not self.buf else 30.0)
            except PeerClosed:
                if self.buf:
                    raise ValueError("client closed in mid-request")
                return None
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise ValueError("not an HTTP/1.x request line: %r" % lines[0][:80])
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise ValueError("bad header line %r" % line[:80])
            headers[name.strip().lower()] = value.strip()
        if "transfer-encoding" in headers:
            raise ValueError("chunked requests are not expected")
        length = int(headers.get("content-length", "0"))
        if length < 0 or length > MAX_BODY:
            raise ValueError("bad Content-Length %d" % length)
        if headers.get("expect", "").lower() == "100-continue":
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        while len(self.buf) < length:
            try:
                self.recv_more(30.0)
            except PeerClosed:
                raise ValueError("client closed in mid-body")
        body, self.buf = self.buf[:length], self.buf[length:]
        return parts[0], parts[1], headers, body

    def send_tls_close(self):
        """close_notify (without waiting long for the peer's), then FIN."""
        try:
            self.sock.settimeout(0.2)
            self.sock.unwrap()
        except (OSError, ValueError, ssl.SSLError):
            pass

    def close(self, reason, style="fin"):
        if style == "notify":
            self.send_tls_close()
        elif style == "rst":
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     struct.pack("ii", 1, 0))
            except OSError:
                pass
        try:
            self.sock.close()
        except OSError:
            pass
        self.log("close reason=%s" % reason)


def access_key_id(headers):
    """The access key id the request says it was signed with, or "-"."""
    m = re.search(r"Credential=([A-Z0-9]+)/", headers.get("authorization", ""))
    return m.group(1) if m else "-"


def decode_input(method, headers, body):
    """The request's input blob, or (status, error body) to answer."""
    if method != "POST":
        return None, (400, error_body("UnsupportedOperationException",
                                      "method %s" % method))
    if headers.get("x-amz-target") != "TrentService.ReEncrypt":
        return None, (400, error_body("UnknownOperationException",
                                      "X-Amz-Target %r" %
                                      headers.get("x-amz-target")))
    try:
        doc = json.loads(body.decode("utf-8"))
        blob = base64.b64decode(doc["CiphertextBlob"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as e:
        return None, (400, error_body("ValidationException",
                                      "bad body: %s" % e))
    return blob, None


def send_answer(conn, mode, inp, status, body):
    """Writes one answer as the mode says. Returns False when the
    connection must close afterwards."""
    sock = conn.sock
    if mode == "dribble":
        for b in response_head(status, len(body)) + body:
            sock.sendall(bytes([b]))
        return True
    if mode == "chunked":
        sock.sendall(response_head(status, None,
                                   ["Transfer-Encoding: chunked"]))
        pieces = [body[:7], body[7:60], body[60:]]
        for piece in pieces:
            if piece:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        sock.sendall(b"0\r\n\r\n")
        return True
    if mode == "connection-close":
        sock.sendall(response_head(status, len(body), ["Connection: close"]) +
                     body)
        return False
    if mode == "continue":
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        time.sleep(0.02)
        sock.sendall(response_head(status, len(body)) + body)
        return True
    sock.sendall(response_head(status, len(body)) + body)
    return True


def serve_http(server, conn):
    args = server.args
    mode = args.mode
    idle = args.idle_ms / 1000.0 if mode.startswith("idle-close") else SERVER_IDLE_S
    while True:
        try:
            req = conn.read_request(idle)
        except socket.timeout:
            if mode == "idle-close":
                conn.close("idle", "notify")
            elif mode == "idle-close-rst":
                conn.close("idle-rst", "rst")
            else:
                conn.close("server-idle-timeout")
            return
        if req is None:
            conn.close("client")
            return
        method, _target, headers, body = req
        conn.n_requests += 1
        n = server.next_request()
        inp, err = decode_input(method, headers, body)
        what = "conn=%d req=%d n=%d key=%s input=%s" % (
            conn.number, conn.n_requests, n, access_key_id(headers),
            printable(inp) if inp is not None else "-")
        if err is not None:
            status, out = err
        else:
            status, out = 200, answer_body(inp)
        if mode == "never-answer":
            server.log(what + " unanswered")
            try:
                while True:
                    conn.recv_more(SERVER_IDLE_S)
            except (PeerClosed, OSError):
                pass
            conn.close("client")
            return
        if mode == "close-mid-body" and (args.count == 0 or n <= args.count):
            conn.sock.sendall(response_head(status, len(out)))
            conn.sock.sendall(out[:len(out) // 2])
            server.log(what + " cut-mid-body")
            time.sleep(0.05)
            conn.close("mid-body")
            return
        keep = send_answer(conn, mode, inp, status, out)
        server.log(what + (" answered" if status == 200 else
                           " refused status=%d" % status))
        if not keep:
            conn.close("connection-close")
            return
        if mode == "extra-bytes":
            time.sleep(args.extra_ms / 1000.0)
            extra = b"EXTRA-C%d-R%d" % (conn.number, conn.n_requests)
            eb = answer_body(extra)
            conn.sock.sendall(response_head(200, len(eb)) + eb)
            server.log("conn=%d req=%d extra-sent=%s" %
                       (conn.number, conn.n_requests, printable(extra)))


def speak_h2_refusal(server, conn):
    """This server cannot speak h2: an empty SETTINGS, then GOAWAY
    (PROTOCOL_ERROR) once the client has said something, then close."""
    conn.sock.sendall(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
    first = b""
    try:
        conn.recv_more(2.0)
        first = conn.buf[:24]
    except (PeerClosed, OSError):
        pass
    conn.log("h2-negotiated first-bytes=%s" % printable(first))
    try:
        conn.sock.sendall(b"\x00\x00\x08\x07\x00\x00\x00\x00\x00"
                          b"\x00\x00\x00\x00\x00\x00\x00\x01")
    except OSError:
        pass
    conn.close("h2-not-spoken")


def handle(server, ctx, raw):
    number = server.next_conn()
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if server.args.mode == "no-handshake":
        server.log("conn=%d open tls=never" % number)
        try:
            raw.settimeout(SERVER_IDLE_S)
            while raw.recv(65536):
                pass
        except OSError:
            pass
        raw.close()
        server.log("conn=%d close reason=client" % number)
        return
    try:
        raw.settimeout(10.0)
        sock = ctx.wrap_socket(raw, server_side=True)
    except (OSError, ssl.SSLError) as e:
        server.log("conn=%d handshake-failed %s" % (number, printable(
            str(e).encode("ascii", "replace"))))
        raw.close()
        return
    conn = Connection(server, sock, number)
    alpn = sock.selected_alpn_protocol() or "none"
    conn.log("open alpn=%s" % alpn)
    try:
        if alpn == "h2":
            speak_h2_refusal(server, conn)
        else:
            serve_http(server, conn)
    except (OSError, ValueError, ssl.SSLError) as e:
        conn.close("error:%s" % printable(str(e).encode("ascii", "replace")))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    p.add_argument("--mode", choices=MODES, default="normal")
    p.add_argument("--tls-dir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--count", type=int, default=0,
                   help="close-mid-body: cut only the first N requests")
    p.add_argument("--idle-ms", type=int, default=500)
    p.add_argument("--extra-ms", type=int, default=100)
    args = p.parse_args()

    server = Server(args)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(args.tls_dir, "server.pem"),
                        os.path.join(args.tls_dir, "server.key"))
    ctx.set_alpn_protocols(["h2", "http/1.1"] if args.mode == "alpn-h2"
                           else ["http/1.1"])
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", args.port))
    lsock.listen(128)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(lsock.getsockname()[1]))
    # Renamed into place, so a reader never sees a half-written port.
    os.replace(args.port_file + ".tmp", args.port_file)
    server.log("listening port=%d mode=%s" % (lsock.getsockname()[1],
                                              args.mode))
    while True:
        raw, _ = lsock.accept()
        threading.Thread(target=handle, args=(server, ctx, raw),
                         daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
