//! Two smoltcp devices wired back to back in memory: what one transmits, the other
//! receives, in order, with nothing lost. IP medium, so no ARP gets in the way.

use smoltcp::phy::{self, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Packets in flight towards each side.
type Queues = Rc<RefCell<[VecDeque<Vec<u8>>; 2]>>;

pub const MTU: usize = 1500;

/// One end of the wire.
pub struct End {
    queues: Queues,
    side: usize,
}

/// A wire and its two ends.
pub fn pair() -> (End, End) {
    let queues: Queues = Rc::default();
    (
        End {
            queues: queues.clone(),
            side: 0,
        },
        End { queues, side: 1 },
    )
}

impl End {
    /// Packets waiting for this end.
    pub fn pending(&self) -> usize {
        self.queues.borrow()[self.side].len()
    }
}

pub struct Rx(Vec<u8>);

pub struct Tx {
    queues: Queues,
    to: usize,
}

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for Tx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut packet = vec![0; len];
        let r = f(&mut packet);
        self.queues.borrow_mut()[self.to].push_back(packet);
        r
    }
}

impl phy::Device for End {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx;

    fn receive(&mut self, _: Instant) -> Option<(Rx, Tx)> {
        let packet = self.queues.borrow_mut()[self.side].pop_front()?;
        Some((Rx(packet), self.tx()))
    }

    fn transmit(&mut self, _: Instant) -> Option<Tx> {
        Some(self.tx())
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = MTU;
        // Nothing corrupts packets in memory; skipping checksums keeps big tests fast.
        caps.checksum = ChecksumCapabilities::ignored();
        caps
    }
}

impl End {
    fn tx(&self) -> Tx {
        Tx {
            queues: self.queues.clone(),
            to: 1 - self.side,
        }
    }
}
