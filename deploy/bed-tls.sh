# deploy/bed-tls.sh: TLS for the bed's own etcd cluster and nats-server (up --managers/--etcd),
# sourced by deploy/local-cluster. One CA per bed, made by `up` with openssl in
# $STATE/tls (0700; keys 0600), gone with `down`:
#
#   ca.pem                     the bed's store CA (not the cluster's root CA: shoal never sees its key)
#   etcd.pem, etcd-key.pem     every etcd member, for clients and peers (127.0.0.1, localhost)
#   nats.pem, nats-key.pem     the nats-server (127.0.0.1, localhost)
#   client.pem, client-key.pem what the managers (and the e2e tests, etcdctl, curl) present
#
# etcd requires a client certificate of this CA from clients (--client-cert-auth) and peers
# (--peer-client-cert-auth); nats-server too (tls { verify: true }). A plaintext client or one
# without a certificate is refused at the handshake.

BED_TLS_DAYS=30   # a bed lives hours; a fresh `up` makes new ones

bed_tls_dir() { echo "$STATE/tls"; }

# bed_tls_make: the CA and the three pairs, unless they are there already (a reused bed).
bed_tls_make() {
  local d; d=$(bed_tls_dir)
  [[ -s $d/ca.pem && -s $d/etcd.pem && -s $d/nats.pem && -s $d/client.pem ]] && return 0
  log "making the bed's etcd/NATS CA and certificates in $d"
  mkdir -p "$d"; chmod 700 "$d"
  (
    umask 077
    set -e
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$BED_TLS_DAYS" \
      -keyout "$d/ca-key.pem" -out "$d/ca.pem" -subj "/CN=shoal-bed store CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    bed_tls_issue "$d" etcd "shoal-bed etcd" serverAuth,clientAuth "IP:127.0.0.1,DNS:localhost"
    bed_tls_issue "$d" nats "shoal-bed nats" serverAuth "IP:127.0.0.1,DNS:localhost"
    bed_tls_issue "$d" client "shoal-bed client" clientAuth ""
    chmod 644 "$d"/ca.pem "$d"/etcd.pem "$d"/nats.pem "$d"/client.pem
  ) || die "could not make the bed's TLS certificates in $d (openssl)"
}

# bed_tls_issue DIR NAME CN EXTENDED_KEY_USAGE SANS: NAME.pem + NAME-key.pem signed by DIR's CA.
bed_tls_issue() {
  local d=$1 name=$2 cn=$3 eku=$4 sans=$5 ext
  ext=$(mktemp)
  { echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [[ -n $sans ]] && echo "subjectAltName=$sans"
  } >"$ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/$name-key.pem" \
    -out "$d/$name.csr" -subj "/CN=$cn" 2>/dev/null
  openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial \
    -days "$BED_TLS_DAYS" -extfile "$ext" -out "$d/$name.pem" 2>/dev/null
  rm -f "$d/$name.csr" "$ext"
}

# bed_etcd_tls_flags: etcd's flags for TLS with client certificates on both of its ports.
bed_etcd_tls_flags() {
  local d; d=$(bed_tls_dir)
  echo --client-cert-auth --trusted-ca-file "$d/ca.pem" --cert-file "$d/etcd.pem" --key-file "$d/etcd-key.pem" \
    --peer-client-cert-auth --peer-trusted-ca-file "$d/ca.pem" --peer-cert-file "$d/etcd.pem" \
    --peer-key-file "$d/etcd-key.pem"
}

# bed_store_client_flags: the managers' flags for the bed's etcd and NATS.
bed_store_client_flags() {
  local d; d=$(bed_tls_dir)
  echo --etcd-cacert "$d/ca.pem" --etcd-cert "$d/client.pem" --etcd-key "$d/client-key.pem" \
    --nats-tls-cacert "$d/ca.pem" --nats-tls-cert "$d/client.pem" --nats-tls-key "$d/client-key.pem"
}

# bed_curl_tls_flags: curl's (and with --cacert/--cert/--key, etcdctl's) client flags.
bed_curl_tls_flags() {
  local d; d=$(bed_tls_dir)
  echo --cacert "$d/ca.pem" --cert "$d/client.pem" --key "$d/client-key.pem"
}

# bed_nats_conf PORT: nats-server's config (written 0600 beside the certificates); its path.
bed_nats_conf() {
  local d; d=$(bed_tls_dir)
  (umask 077; cat >"$d/nats.conf" <<EOF
listen: "127.0.0.1:$1"
tls {
  cert_file: "$d/nats.pem"
  key_file: "$d/nats-key.pem"
  ca_file: "$d/ca.pem"
  verify: true
}
EOF
  )
  echo "$d/nats.conf"
}
