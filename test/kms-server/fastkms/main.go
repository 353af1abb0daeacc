// SPDX-License-Identifier: Apache-2.0
//
// fastkms: a stand-in for KMS ReEncrypt that answers after a fixed delay,
// fast enough (Go net/http, TLS, keep-alive) not to be the bottleneck at
// tens of thousands of requests per second. No SigV4 check and no
// cryptography: the answer's CiphertextBlob is 0x02 followed by the input
// blob, so a client's output can be traced back to its input (order
// checks); KeyId and SourceKeyId are -key-arn. For kms-rotate's memory
// test and the bench (bench/rotate/), never for correctness of KMS itself.
//
//	fastkms -cert server.pem -key server.key -port-file F [-delay 5ms]
//	        [-key-arn ARN] [-throttle-every N] [-other-arn ARN -other-every N]
//
// GET /_stats answers {"requests": N, "throttled": M, "connections": C}
// (C: TCP connections accepted).
package main

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

var (
	requests  atomic.Int64
	throttled atomic.Int64
	conns     atomic.Int64
)

type reencryptReq struct {
	CiphertextBlob []byte
}

func main() {
	cert := flag.String("cert", "", "PEM certificate")
	key := flag.String("key", "", "PEM private key")
	portFile := flag.String("port-file", "", "write the port here")
	delay := flag.Duration("delay", 0, "answer after this long")
	keyArn := flag.String("key-arn",
		"arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555",
		"KeyId and SourceKeyId of every answer")
	throttleEvery := flag.Int64("throttle-every", 0,
		"answer every Nth request with ThrottlingException (0: never)")
	otherArn := flag.String("other-arn", "", "KeyId of every -other-every'th answer")
	otherEvery := flag.Int64("other-every", 0,
		"answer every Nth request with KeyId -other-arn (0: never), as a wrong key would")
	flag.Parse()

	pair, err := tls.LoadX509KeyPair(*cert, *key)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	mux := http.NewServeMux()
	mux.HandleFunc("/_stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "{\"requests\": %d, \"throttled\": %d, \"connections\": %d}\n",
			requests.Load(), throttled.Load(), conns.Load())
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if *delay > 0 {
			time.Sleep(*delay)
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("x-amzn-RequestId", "fast-"+strconv.FormatInt(n, 10))
		if r.Header.Get("X-Amz-Target") != "TrentService.ReEncrypt" || err != nil {
			w.WriteHeader(400)
			io.WriteString(w, `{"__type":"UnknownOperationException","message":"ReEncrypt only"}`)
			return
		}
		if *throttleEvery > 0 && n%*throttleEvery == 0 {
			throttled.Add(1)
			w.WriteHeader(400)
			io.WriteString(w, `{"__type":"ThrottlingException","message":"Rate exceeded"}`)
			return
		}
		var req reencryptReq
		if json.Unmarshal(body, &req) != nil || len(req.CiphertextBlob) == 0 {
			w.WriteHeader(400)
			io.WriteString(w, `{"__type":"ValidationException","message":"bad body"}`)
			return
		}
		out := append([]byte{2}, req.CiphertextBlob...)
		arn := *keyArn
		if *otherEvery > 0 && n%*otherEvery == 0 {
			arn = *otherArn
		}
		fmt.Fprintf(w, `{"CiphertextBlob":"%s","KeyId":"%s","SourceKeyId":"%s",`+
			`"SourceEncryptionAlgorithm":"SYMMETRIC_DEFAULT",`+
			`"DestinationEncryptionAlgorithm":"SYMMETRIC_DEFAULT"}`,
			base64.StdEncoding.EncodeToString(out), arn, arn)
	})
	srv := &http.Server{
		Handler:   mux,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
		// HTTP/1.1 only, as the provider speaks it.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
	}
	if *portFile != "" {
		if err := os.WriteFile(*portFile, []byte(strconv.Itoa(port)+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	log.Fatal(srv.ServeTLS(ln, "", ""))
}
