#!/usr/bin/env python3
"""Host-side services for the bulkhead namespace lab.

Everything binds only to addresses that lab/run created on interfaces it owns
(the host ends of the veths and a dummy interface holding TEST-NET addresses).
Nothing here ever opens an outbound connection.

  DNS  udp/53 on every --dns address: A answers from a fixed table (dns.google ->
       the DoH stand-in), everything else -> the first host-side address; TXT -> "ok"
  TCP  sink on --sink ADDR:PORT: reads until EOF, counts bytes
  HTTP on --http ADDR:PORT (benign workload traffic)
  TLS  on --tls ADDR:443 with --cert/--key: an HTTP/1.1 server answering
       GET /dns-query?dns=... with an application/dns-message (DoH stand-in)

Stops by itself after --lifetime seconds (default 600) even if nobody kills it.
"""
import argparse
import base64
import http.server
import json
import os
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time

LOG = None
LOCK = threading.Lock()


def log(kind, **kw):
    kw.update(t=round(time.time(), 6), kind=kind)
    with LOCK:
        LOG.write(json.dumps(kw) + "\n")
        LOG.flush()


# ---------------------------------------------------------------- DNS
def parse_qname(msg, off):
    labels = []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            break
        if n & 0xC0:
            raise ValueError("compression in question")
        labels.append(msg[off:off + n].decode("latin-1"))
        off += n
    return ".".join(labels), off


def dns_answer(query, table, default_a):
    (qid, flags, qd, _an, _ns, _ar) = struct.unpack("!HHHHHH", query[:12])
    if qd != 1:
        return None
    name, off = parse_qname(query, 12)
    qtype, qclass = struct.unpack("!HH", query[off:off + 4])
    question = query[12:off + 4]
    rflags = 0x8180 | (flags & 0x0100)  # QR, RD copied, RA
    answers = b""
    count = 0
    if qtype == 1:  # A
        addr = table.get(name.lower().rstrip("."), default_a)
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(addr)
        count = 1
    elif qtype == 16:  # TXT
        txt = b"ok"
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 60, len(txt) + 1) + bytes([len(txt)]) + txt
        count = 1
    header = struct.pack("!HHHHHH", qid, rflags, 1, count, 0, 0)
    return header + question + answers, name, qtype


def dns_server(addr, table, default_a, stop):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 53))
    s.settimeout(0.5)
    while not stop.is_set():
        try:
            q, peer = s.recvfrom(4096)
        except socket.timeout:
            continue
        try:
            r = dns_answer(q, table, default_a)
        except Exception as e:  # malformed: ignore
            log("dns_error", server=addr, error=str(e))
            continue
        if r:
            resp, name, qtype = r
            s.sendto(resp, peer)
            log("dns", server=addr, client=peer[0], qname=name, qtype=qtype)


# ---------------------------------------------------------------- TCP sink
def sink_server(addr, port, stop):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    s.settimeout(0.5)
    while not stop.is_set():
        try:
            c, peer = s.accept()
        except socket.timeout:
            continue
        def drain(c=c, peer=peer):
            c.settimeout(10)
            n = 0
            try:
                while True:
                    b = c.recv(65536)
                    if not b:
                        break
                    n += len(b)
            except OSError:
                pass
            c.close()
            log("sink", server=f"{addr}:{port}", client=peer[0], bytes=n)
        threading.Thread(target=drain, daemon=True).start()


# ---------------------------------------------------------------- HTTP / DoH
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        log("http", server=self.server.server_address[0], client=self.client_address[0],
            tls=getattr(self.server, "is_tls", False), line=fmt % args)

    def do_GET(self):
        if self.path.startswith("/dns-query"):
            # RFC 8484 GET: ?dns=<base64url DNS message>; answer it with the DNS table
            q = self.path.split("dns=", 1)[-1].split("&", 1)[0]
            try:
                wire = base64.urlsafe_b64decode(q + "=" * (-len(q) % 4))
                body = dns_answer(wire, self.server.table, self.server.default_a)[0]
            except Exception:
                body = b""
            ctype = "application/dns-message"
        else:
            body = json.dumps({"ok": True, "path": self.path}).encode()
            ctype = "application/json"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def http_server(addr, port, table, default_a, stop, cert=None, key=None):
    srv = Server((addr, port), Handler)
    srv.table, srv.default_a, srv.is_tls = table, default_a, bool(cert)
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.timeout = 0.5
    while not stop.is_set():
        srv.handle_request()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dns", action="append", default=[])
    ap.add_argument("--http", action="append", default=[])
    ap.add_argument("--sink", action="append", default=[])
    ap.add_argument("--tls")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--map", action="append", default=[], help="name=addr for A answers")
    ap.add_argument("--default-a", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--lifetime", type=float, default=600)
    a = ap.parse_args()
    global LOG
    LOG = open(a.log, "a")
    table = dict(m.split("=", 1) for m in a.map)
    stop = threading.Event()
    threads = []
    for d in a.dns:
        threads.append(threading.Thread(target=dns_server, args=(d, table, a.default_a, stop), daemon=True))
    for s in a.sink:
        h, p = s.rsplit(":", 1)
        threads.append(threading.Thread(target=sink_server, args=(h, int(p), stop), daemon=True))
    for s in a.http:
        h, p = s.rsplit(":", 1)
        threads.append(threading.Thread(target=http_server, args=(h, int(p), table, a.default_a, stop), daemon=True))
    if a.tls:
        h, p = a.tls.rsplit(":", 1)
        threads.append(threading.Thread(target=http_server,
                                        args=(h, int(p), table, a.default_a, stop, a.cert, a.key), daemon=True))
    for t in threads:
        t.start()
    time.sleep(0.3)
    open(a.ready, "w").write(str(os.getpid()))
    deadline = time.time() + a.lifetime
    try:
        while time.time() < deadline and all(t.is_alive() for t in threads):
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    stop.set()
    dead = [t for t in threads if not t.is_alive()]
    sys.exit(1 if dead and time.time() < deadline else 0)


if __name__ == "__main__":
    main()
