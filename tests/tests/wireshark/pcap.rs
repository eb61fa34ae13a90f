//! Writes a pcap file of TCP conversations made up by the test (no capture, no root): for
//! feeding the dissector byte streams no peer would send.
//!
//! Each conversation gets its own client port, a handshake, and its bytes as one TCP
//! segment per piece, client to server. Checksums are left zero (Wireshark does not
//! verify them by default).

/// A pcap file being built in memory.
pub struct Pcap {
    bytes: Vec<u8>,
    packets: u32,
}

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [10, 0, 0, 2];
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;

impl Pcap {
    /// An empty file (link type Ethernet).
    pub fn new() -> Pcap {
        let mut bytes = Vec::new();
        bytes.extend(0xA1B2_C3D4u32.to_le_bytes()); // magic: microsecond timestamps
        bytes.extend(2u16.to_le_bytes()); // version 2.4
        bytes.extend(4u16.to_le_bytes());
        bytes.extend(0i32.to_le_bytes()); // GMT offset
        bytes.extend(0u32.to_le_bytes()); // timestamp accuracy
        bytes.extend(262_144u32.to_le_bytes()); // snapshot length
        bytes.extend(1u32.to_le_bytes()); // Ethernet
        Pcap { bytes, packets: 0 }
    }

    /// A conversation from `client_port` to `server_port`: a handshake, then `pieces`, one
    /// segment each.
    pub fn conversation(&mut self, client_port: u16, server_port: u16, pieces: &[&[u8]]) {
        let (c_isn, s_isn) = (1000u32, 5000u32);
        let (c, s) = ((CLIENT, client_port), (SERVER, server_port));
        self.segment(c, s, c_isn, 0, SYN, &[]);
        self.segment(s, c, s_isn, c_isn + 1, SYN | ACK, &[]);
        let mut seq = c_isn + 1;
        self.segment(c, s, seq, s_isn + 1, ACK, &[]);
        for piece in pieces {
            self.segment(c, s, seq, s_isn + 1, PSH_ACK, piece);
            seq = seq.wrapping_add(piece.len() as u32);
            self.segment(s, c, s_isn + 1, seq, ACK, &[]);
        }
    }

    fn segment(
        &mut self,
        (src, sport): ([u8; 4], u16),
        (dst, dport): ([u8; 4], u16),
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) {
        let mut p = Vec::with_capacity(54 + payload.len());
        p.extend([0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00]); // Ethernet, IPv4
        let ip_len = (20 + 20 + payload.len()) as u16;
        p.extend([0x45, 0]);
        p.extend(ip_len.to_be_bytes());
        p.extend([0, 0, 0x40, 0, 64, 6, 0, 0]); // id, don't fragment, TTL, TCP, checksum
        p.extend(src);
        p.extend(dst);
        p.extend(sport.to_be_bytes());
        p.extend(dport.to_be_bytes());
        p.extend(seq.to_be_bytes());
        p.extend(ack.to_be_bytes());
        p.extend([0x50, flags]); // 20-byte header
        p.extend(65535u16.to_be_bytes()); // window
        p.extend([0, 0, 0, 0]); // checksum, urgent pointer
        p.extend(payload);
        self.packets += 1;
        // One packet per millisecond, so the order is the order written.
        let t = self.packets;
        self.bytes.extend((t / 1000).to_le_bytes());
        self.bytes.extend((t % 1000 * 1000).to_le_bytes());
        self.bytes.extend((p.len() as u32).to_le_bytes());
        self.bytes.extend((p.len() as u32).to_le_bytes());
        self.bytes.extend(p);
    }

    /// The file's bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}
