// SPDX-License-Identifier: Apache-2.0

// h2server: a KMS ReEncrypt echo on Go's stock net/http TLS server, which
// offers h2 first in ALPN (HTTP/2 is on by default with ServeTLS). The
// answer is the one test/hostile/hostile_server.py gives:
// CiphertextBlob = base64("NEWBLOB-FOR:" + the decoded input blob).
//
// Standard library only; built at test time with GO111MODULE=off:
//
//	go build -o h2server h2server.go
//	h2server -tls-dir DIR -port-file F -log F
//
// Log, one line per event: "conn=C open" for each accepted connection,
// "proto=HTTP/1.1 input=I answered" for each request (proto as the server
// saw it: HTTP/1.1 or HTTP/2.0), and "conn-state=... " transitions.
package main

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
)

const (
	destARN   = "arn:aws:kms:us-east-1:111122223333:key/0b7e5c3a-6f1d-4c2e-9a8b-1d2e3f4a5b6c"
	sourceARN = "arn:aws:kms:us-east-1:111122223333:key/9c8b7a6f-5e4d-4c3b-8a29-1f0e2d3c4b5a"
)

type eventLog struct {
	mu sync.Mutex
	f  *os.File
	n  int
}

func (l *eventLog) printf(format string, args ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.f, format+"\n", args...)
}

func (l *eventLog) nextRequest() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	return l.n
}

func fail(w http.ResponseWriter, kind, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": kind, "message": msg})
}

func main() {
	tlsDir := flag.String("tls-dir", "", "directory with server.pem and server.key")
	portFile := flag.String("port-file", "", "where to write the port")
	logPath := flag.String("log", "", "event log")
	flag.Parse()
	if *tlsDir == "" || *portFile == "" || *logPath == "" {
		log.Fatal("usage: h2server -tls-dir DIR -port-file F -log F")
	}
	f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	events := &eventLog{f: f}

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := events.nextRequest()
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil || r.Method != http.MethodPost {
			fail(w, "ValidationException", "cannot read the request")
			return
		}
		if t := r.Header.Get("X-Amz-Target"); t != "TrentService.ReEncrypt" {
			fail(w, "UnknownOperationException", "X-Amz-Target "+t)
			return
		}
		var doc struct{ CiphertextBlob string }
		if err := json.Unmarshal(body, &doc); err != nil {
			fail(w, "ValidationException", err.Error())
			return
		}
		in, err := base64.StdEncoding.DecodeString(doc.CiphertextBlob)
		if err != nil {
			fail(w, "ValidationException", err.Error())
			return
		}
		out, _ := json.Marshal(map[string]string{
			"CiphertextBlob":                 base64.StdEncoding.EncodeToString(append([]byte("NEWBLOB-FOR:"), in...)),
			"KeyId":                          destARN,
			"SourceKeyId":                    sourceARN,
			"SourceEncryptionAlgorithm":      "SYMMETRIC_DEFAULT",
			"DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
		})
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("x-amzn-RequestId", fmt.Sprintf("h2server-%d", n))
		w.Write(out)
		events.printf("n=%d proto=%s input=%q answered", n, r.Proto, in)
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	var conns int
	var connsMu sync.Mutex
	srv := &http.Server{
		Handler: handler,
		// Connection states, so a test can count connections.
		ConnState: func(c net.Conn, s http.ConnState) {
			if s == http.StateNew {
				connsMu.Lock()
				conns++
				events.printf("conn=%d open", conns)
				connsMu.Unlock()
			}
		},
		// The TLS handshake and protocol errors (a client that negotiated
		// h2 and then sent HTTP/1.1, say) go to the event log too.
		ErrorLog: log.New(eventWriter{events}, "server-error: ", 0),
	}
	tmp := *portFile + ".tmp"
	port := ln.Addr().(*net.TCPAddr).Port
	if err := os.WriteFile(tmp, []byte(fmt.Sprint(port)), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(tmp, *portFile); err != nil {
		log.Fatal(err)
	}
	events.printf("listening port=%d", port)
	err = srv.ServeTLS(ln, filepath.Join(*tlsDir, "server.pem"), filepath.Join(*tlsDir, "server.key"))
	log.Fatal(err)
}

type eventWriter struct{ l *eventLog }

func (w eventWriter) Write(p []byte) (int, error) {
	w.l.printf("%s", string(trimNewline(p)))
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}
