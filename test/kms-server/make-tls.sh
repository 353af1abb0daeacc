#!/bin/sh
# make-tls.sh DIR [CA_NAME] - throw-away CA and server certificate for the
# test KMS server. Writes DIR/ca.pem, DIR/server.pem, DIR/server.key (EC
# P-256, valid 2 days, SAN IP:127.0.0.1 and DNS:localhost). CA_NAME is the
# CA's common name (default "kms-test-server CA"; two CAs of one name are
# one issuer to a verifier). The CA key is deleted afterwards.
set -eu

dir=${1:?usage: make-tls.sh DIR [CA_NAME]}
ca_name=${2:-kms-test-server CA}
mkdir -p "$dir"
cd "$dir"
umask 077

openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=$ca_name" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out ca.pem 2>/dev/null

openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null

cat > server.ext <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
EOF
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -sha256 -days 2 -extfile server.ext -out server.pem 2>/dev/null

rm -f ca.key ca.srl server.csr server.ext
chmod 644 ca.pem server.pem
