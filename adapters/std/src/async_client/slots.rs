//! The requests in flight, by id: a table whose slot for id `i` is `i % len`, reused from
//! request to request.
//!
//! Ids are handed out in sequence (wrapping, never 0) and skip any id whose slot is taken,
//! so no two requests in flight share an id and a reply finds its request in one step, with
//! no hashing. The table doubles when it is half full; it does not shrink.

/// What a slot holds: filled in place when a request takes it, emptied in place when it
/// ends (no waiter is moved in or out).
pub(crate) trait Vacant: Default {
    /// Drops what the slot holds, leaving it as [`Default`] made it.
    fn vacate(&mut self);
}

/// Requests in flight, each in slot `id & (len - 1)`.
pub(crate) struct Slots<W> {
    /// A power of two long; `(id, waiter)` for a request in flight, `(0, vacant)` else.
    slots: Vec<(u32, W)>,
    /// The next id to try.
    next_id: u32,
    /// Slots taken.
    used: usize,
}

/// Slots of a new table (grown on demand).
const INITIAL: usize = 16;

impl<W: Vacant> Slots<W> {
    /// An empty table whose first id is `first` (0 is skipped).
    pub fn starting_at(first: u32) -> Self {
        Slots {
            slots: std::iter::repeat_with(Default::default)
                .take(INITIAL)
                .collect(),
            next_id: first.max(1),
            used: 0,
        }
    }

    /// Requests in flight.
    pub fn len(&self) -> usize {
        self.used
    }

    /// Whether no request is in flight.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    fn index(&self, id: u32) -> usize {
        id as usize & (self.slots.len() - 1)
    }

    /// Takes a fresh id, the next in sequence whose slot is free, and fills its slot with
    /// `fill`.
    pub fn insert(&mut self, fill: impl FnOnce(&mut W)) -> u32 {
        if (self.used + 1) * 2 > self.slots.len() {
            self.grow();
        }
        // At least half the slots are free and consecutive ids fall on consecutive slots:
        // at most `len / 2 + 1` tries.
        loop {
            let id = self.next_id;
            self.next_id = id.wrapping_add(1).max(1);
            let i = self.index(id);
            let slot = &mut self.slots[i];
            if slot.0 == 0 {
                slot.0 = id;
                fill(&mut slot.1);
                self.used += 1;
                return id;
            }
        }
    }

    /// Doubles the table. Two ids in different slots stay in different slots: equal bits
    /// under the larger mask would mean equal bits under the smaller one.
    fn grow(&mut self) {
        let len = self.slots.len() * 2;
        let old = std::mem::replace(
            &mut self.slots,
            std::iter::repeat_with(Default::default).take(len).collect(),
        );
        for (id, waiter) in old {
            if id != 0 {
                let i = self.index(id);
                self.slots[i] = (id, waiter);
            }
        }
    }

    /// The waiter of request `id`, if it is in flight.
    pub fn get_mut(&mut self, id: u32) -> Option<&mut W> {
        let i = self.index(id);
        match &mut self.slots[i] {
            (taken, waiter) if *taken == id && id != 0 => Some(waiter),
            _ => None,
        }
    }

    /// Ends request `id` (if in flight), freeing its slot; returns its waiter.
    #[cfg(test)]
    pub fn remove(&mut self, id: u32) -> Option<W> {
        let i = self.index(id);
        if self.slots[i].0 != id || id == 0 {
            return None;
        }
        self.used -= 1;
        Some(std::mem::take(&mut self.slots[i]).1)
    }

    /// Ends request `id` (if in flight), dropping its waiter where it is.
    pub fn discard(&mut self, id: u32) {
        let i = self.index(id);
        let slot = &mut self.slots[i];
        if slot.0 == id && id != 0 {
            slot.0 = 0;
            slot.1.vacate();
            self.used -= 1;
        }
    }

    /// Ends request `id` (if in flight) without emptying its slot: for a waiter whose
    /// parts were all taken out. Whatever is left is dropped when the slot is next
    /// emptied, or overwritten when it is next filled.
    pub fn release(&mut self, id: u32) {
        let i = self.index(id);
        let slot = &mut self.slots[i];
        if slot.0 == id && id != 0 {
            slot.0 = 0;
            self.used -= 1;
        }
    }

    /// Keeps the requests for which `keep` says true; ends the others.
    pub fn retain(&mut self, mut keep: impl FnMut(u32, &mut W) -> bool) {
        for (id, waiter) in &mut self.slots {
            if *id != 0 && !keep(*id, waiter) {
                *id = 0;
                waiter.vacate();
                self.used -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Vacant for u32 {
        fn vacate(&mut self) {
            *self = 0;
        }
    }

    #[test]
    fn ids_wrap_past_the_top_skipping_0_and_every_id_in_flight() {
        let mut slots: Slots<u32> = Slots::starting_at(u32::MAX - 2);
        let held = slots.insert(|w| *w = 7); // stays in flight across the wrap
        assert_eq!(held, u32::MAX - 2);
        let mut seen = vec![];
        for _ in 0..4 {
            let id = slots.insert(|w| *w = 1);
            seen.push(id);
            assert_eq!(slots.remove(id), Some(1));
        }
        assert_eq!(seen, [u32::MAX - 1, u32::MAX, 1, 2]);
        // Around the table once more: the held id's slot is skipped, not reused.
        let len = slots.slots.len() as u32;
        let mut ids = vec![];
        for _ in 0..len {
            let id = slots.insert(|w| *w = 1);
            ids.push(id);
            slots.remove(id);
        }
        assert!(!ids.contains(&held) && !ids.contains(&0));
        assert!(
            ids.iter()
                .all(|&id| id as usize % len as usize != held as usize % len as usize)
        );
        assert_eq!(slots.get_mut(held), Some(&mut 7));
        assert_eq!(slots.len(), 1);
    }

    #[test]
    fn growing_keeps_every_request_findable_and_ids_distinct() {
        let mut slots: Slots<u32> = Slots::starting_at(1);
        let mut live = std::collections::HashMap::new();
        // 10,000 in flight, with some finished along the way (out of order).
        for n in 0..10_000u32 {
            let id = slots.insert(|w| *w = n);
            assert!(live.insert(id, n).is_none(), "id {id} given twice");
            if n % 3 == 0 {
                let old = id / 2 + 1;
                if let Some(v) = live.remove(&old) {
                    assert_eq!(slots.remove(old), Some(v));
                }
            }
        }
        assert_eq!(slots.len(), live.len());
        assert!(slots.slots.len() >= 2 * live.len());
        for (&id, &n) in &live {
            assert_eq!(slots.get_mut(id), Some(&mut n.clone()));
        }
        // A reply for an id not in flight finds nothing.
        assert_eq!(slots.get_mut(20_000), None);
        assert_eq!(slots.remove(20_000), None);
        let some = *live.keys().next().unwrap();
        slots.discard(some);
        live.remove(&some);
        assert_eq!(slots.get_mut(some), None);
        slots.retain(|id, _| id % 2 == 0);
        assert_eq!(slots.len(), live.keys().filter(|&&id| id % 2 == 0).count());
    }
}
