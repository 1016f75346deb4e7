#!/usr/bin/env python3
"""Writes the synthetic pcap/pcapng fixtures (run from this folder). iodine_mx_cut.pcapng is
the first 14 packets of a public iodine DNS tunnel capture (GraphTunnel dataset)."""
import struct

def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def ip4(a): return bytes(int(x) for x in a.split('.'))

def ipv4(src, dst, proto, payload, frag=0, ident=1):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0, ip4(src), ip4(dst))
    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return h + payload

def ipv6(src, dst, nh, payload, ext=b''):
    import ipaddress
    s = ipaddress.IPv6Address(src).packed; d = ipaddress.IPv6Address(dst).packed
    first = nh
    if ext: first = 0  # hop-by-hop carrying nh
    return struct.pack('!IHBB', 0x60000000, len(ext) + len(payload), first, 64) + s + d + ext + payload

def udp(sp, dp, data): return struct.pack('!HHHH', sp, dp, 8 + len(data), 0) + data

def tcp(sp, dp, seq, ack, flags, data=b''):
    return struct.pack('!HHIIBBHHH', sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0) + data

def eth(payload, etype=0x0800, vlan=None):
    h = b'\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02'
    if vlan is not None: h += struct.pack('!HH', 0x8100, vlan)
    return h + struct.pack('!H', etype) + payload

def name(n):
    out = b''
    for label in n.split('.'):
        if label: out += bytes([len(label)]) + label.encode()
    return out + b'\0'

def dns_query(ident, qname, qtype):
    return struct.pack('!HHHHHH', ident, 0x0100, 1, 0, 0, 0) + name(qname) + struct.pack('!HH', qtype, 1)

def dns_response(ident, qname, qtype, answers, rcode=0):
    q = name(qname) + struct.pack('!HH', qtype, 1)
    body = b''
    for (atype, rdata) in answers:
        body += b'\xc0\x0c' + struct.pack('!HHIH', atype, 1, 300, len(rdata)) + rdata
    return struct.pack('!HHHHHH', ident, 0x8180 | rcode, 1, len(answers), 0, 0) + q + body

def client_hello(sni):
    server_name = struct.pack('!HBH', len(sni) + 3, 0, len(sni)) + sni.encode()
    exts = struct.pack('!HH', 0, len(server_name)) + server_name
    exts += struct.pack('!HH', 0x002b, 3) + b'\x02\x03\x04'  # supported_versions: TLS 1.3
    body = b'\x03\x03' + b'\x11' * 32 + b'\x00' + struct.pack('!H', 2) + b'\x13\x01' + b'\x01\x00' + struct.pack('!H', len(exts)) + exts
    hs = b'\x01' + struct.pack('!I', len(body))[1:] + body
    return b'\x16\x03\x01' + struct.pack('!H', len(hs)) + hs

def pcap(path, packets, link=1, big=False, nano=False):
    e = '>' if big else '<'
    magic = 0xa1b23c4d if nano else 0xa1b2c3d4
    out = struct.pack(e + 'IHHiIII', magic, 2, 4, 0, 0, 65535, link)
    for (t, data, *rest) in packets:
        orig = rest[0] if rest else len(data)
        sec = int(t); frac = round((t - sec) * (1e9 if nano else 1e6))
        out += struct.pack(e + 'IIII', sec, frac, len(data), orig) + data
    open(path, 'wb').write(out)

T = 1763900000.0
c, srv = '10.0.0.5', '10.0.0.53'
example_answers = [(5, name('edge.example.net')), (1, ip4('93.184.216.34'))]
# CNAME rdata pointing back to the question via compression is fine too: use a pointer.
packets = [
    (T + 0.000, eth(ipv4(c, srv, 17, udp(40000, 53, dns_query(0x1111, 'www.example.com', 1))))),
    (T + 0.010, eth(ipv4(srv, c, 17, udp(53, 40000, dns_response(0x1111, 'www.example.com', 1, example_answers))))),
    (T + 0.020, eth(ipv4(c, srv, 17, udp(40001, 53, dns_query(0x2222, 'aGVsbG8gd29ybGQgdGhpcyBpcyBleGZpbA.t.evil.example', 16))))),
    (T + 0.030, eth(ipv4(c, srv, 17, udp(40002, 53, dns_query(0x3333, 'nope.invalid', 28))), vlan=42)),
    (T + 0.031, eth(ipv4(srv, c, 17, udp(53, 40002, dns_response(0x3333, 'nope.invalid', 28, [], rcode=3))), vlan=42)),
    (T + 0.100, eth(ipv4(c, '93.184.216.34', 6, tcp(50000, 443, 1, 0, 0x02)))),
    (T + 0.120, eth(ipv4('93.184.216.34', c, 6, tcp(443, 50000, 100, 2, 0x12)))),
    (T + 0.121, eth(ipv4(c, '93.184.216.34', 6, tcp(50000, 443, 2, 101, 0x10)))),
    (T + 0.122, eth(ipv4(c, '93.184.216.34', 6, tcp(50000, 443, 2, 101, 0x18, client_hello('www.example.org'))))),
    (T + 0.150, eth(ipv4('93.184.216.34', c, 6, tcp(443, 50000, 101, 300, 0x18, b'\x16\x03\x03\x00\x10' + b'\x02' + b'\x00' * 15)))),
    # truncated: Ethernet + 10 bytes of an IPv4 header
    (T + 0.200, eth(ipv4(c, srv, 17, udp(40003, 53, dns_query(0x4444, 'cut.example', 1))))[:24]),
    # DNS response whose answer name is a compression loop
    (T + 0.210, eth(ipv4(srv, c, 17, udp(53, 40004, struct.pack('!HHHHHH', 0x5555, 0x8180, 0, 1, 0, 0) + b'\xc0\x0c' + struct.pack('!HHIH', 1, 1, 1, 4) + b'\x01\x02\x03\x04')))),
    # ARP (ignored) and a non-first IPv4 fragment (ignored)
    (T + 0.220, eth(b'\x00' * 28, etype=0x0806)),
    (T + 0.230, eth(ipv4(c, srv, 17, b'\x00' * 16, frag=0x0010))),
    (T + 0.300, eth(ipv4(c, srv, 17, udp(40005, 53, dns_query(0x6666, 'after.example', 1))))),
    (T + 0.301, eth(ipv4(srv, c, 17, udp(53, 40005, dns_response(0x6666, 'after.example', 1, [(1, ip4('10.9.9.9')), (16, b'\x05hello\x05world')]))))),
]
pcap('capture_eth.pcap', packets)

# Big-endian, nanosecond, raw IP link: one unanswered query.
pcap('raw_nano_be.pcap', [(T + 1.5, ipv4('192.168.1.2', '8.8.8.8', 17, udp(5353, 53, dns_query(0x7777, 'nano.example', 1))))], link=101, big=True, nano=True)

# pcapng: SLL (113, µs), SLL2 (276, ns), null/loopback (0).
def block(t, body):
    body += b'\0' * ((4 - len(body) % 4) % 4)
    return struct.pack('<II', t, len(body) + 12) + body + struct.pack('<I', len(body) + 12)

def idb(link, tsresol=None):
    opts = b''
    if tsresol is not None: opts = struct.pack('<HHB3x', 9, 1, tsresol) + struct.pack('<HH', 0, 0)
    return block(1, struct.pack('<HHI', link, 0, 262144) + opts)

def epb(iface, t, data, resol=6):
    ts = int(round(t * 10 ** resol))
    return block(6, struct.pack('<IIIII', iface, ts >> 32, ts & 0xffffffff, len(data), len(data)) + data)

def sll(payload, etype):
    return struct.pack('!HHH8sH', 0, 1, 6, b'\x02\0\0\0\0\x01\0\0', etype) + payload

def sll2(payload, etype):
    return struct.pack('!HHIHBB8s', etype, 0, 2, 1, 0, 6, b'\x02\0\0\0\0\x01\0\0') + payload

shb = block(0x0A0D0D0A, struct.pack('<IHHq', 0x1A2B3C4D, 1, 0, -1))
c6, s6 = 'fd00::5', 'fd00::53'
hop = struct.pack('!BB6s', 17, 0, b'\x01\x04\0\0\0\0')  # hop-by-hop: next=UDP, PadN
aaaa_q = dns_query(0x0a0a, 'v6.example.com', 28)
aaaa_r = dns_response(0x0a0a, 'v6.example.com', 28, [(28, bytes.fromhex('20010db8000000000000000000000042'))])
tcp_q = dns_query(0x0b0b, 'tcp.example.com', 1)
tcp_r = dns_response(0x0b0b, 'tcp.example.com', 1, [(1, ip4('10.1.2.3'))])
ng = shb + idb(113) + idb(276, tsresol=9) + idb(0)
ng += epb(0, T + 2.0, sll(ipv6(c6, s6, 17, udp(41000, 53, aaaa_q), ext=hop), 0x86DD))
ng += epb(0, T + 2.01, sll(ipv6(s6, c6, 17, udp(53, 41000, aaaa_r)), 0x86DD))
ng += epb(1, T + 3.0, sll2(ipv4('10.0.1.1', '10.0.1.53', 6, tcp(42000, 53, 1, 0, 0x18, struct.pack('!H', len(tcp_q)) + tcp_q)), 0x0800), resol=9)
ng += epb(1, T + 3.001, sll2(ipv4('10.0.1.53', '10.0.1.1', 6, tcp(53, 42000, 1, 1 + len(tcp_q) + 2, 0x18, struct.pack('!H', len(tcp_r)) + tcp_r)), 0x0800), resol=9)
ng += epb(2, T + 4.0, struct.pack('<I', 2) + ipv4('127.0.0.1', '127.0.0.1', 17, udp(45000, 9999, b'ping')))
ng += block(0x0BAD, b'unknown block type is skipped')
open('capture_multi.pcapng', 'wb').write(ng)
