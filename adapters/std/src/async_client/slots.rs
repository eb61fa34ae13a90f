//! The requests in flight, by id: a table whose slot for id `i` is `i % len`, reused from
//! request to request.
//!
//! Ids are handed out in sequence (wrapping, never 0) and skip any id whose slot is taken,
//! so no two requests in flight share an id and a reply finds its request in one step, with
//! no hashing. The table doubles when it is half full; it does not shrink.

/// What a slot holds: filled in place when a request takes it, emptied in place when it
/// ends (no waiter is moved in or out). The slot keeps its id itself (0: vacant), so that
/// the id costs no room of its own beside the waiter.
pub(crate) trait Slot: Default {
    /// The id of the request in the slot; 0 when vacant.
    fn id(&self) -> u32;
    /// Marks the slot taken by `id` (or vacant, with 0) without touching the rest.
    fn set_id(&mut self, id: u32);
    /// Drops what the slot holds, leaving it as [`Default`] made it (vacant).
    fn vacate(&mut self);
}

/// Requests in flight, each in slot `id & (len - 1)`.
pub(crate) struct Slots<W> {
    /// A power of two long; a waiter for a request in flight, a vacant slot else.
    slots: Vec<W>,
    /// The next id to try.
    next_id: u32,
    /// Slots taken.
    used: usize,
}

/// Slots of a new table (grown on demand).
const INITIAL: usize = 16;

impl<W: Slot> Slots<W> {
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
    /// `fill`; returns the id and the slot.
    pub fn insert(&mut self, fill: impl FnOnce(&mut W)) -> (u32, &mut W) {
        if (self.used + 1) * 2 > self.slots.len() {
            self.grow();
        }
        // At least half the slots are free and consecutive ids fall on consecutive slots:
        // at most `len / 2 + 1` tries.
        let mut id = self.next_id;
        let mut i = self.index(id);
        while self.slots[i].id() != 0 {
            id = id.wrapping_add(1).max(1);
            i = self.index(id);
        }
        self.next_id = id.wrapping_add(1).max(1);
        self.used += 1;
        let slot = &mut self.slots[i];
        slot.set_id(id);
        fill(slot);
        (id, slot)
    }

    /// Doubles the table. Two ids in different slots stay in different slots: equal bits
    /// under the larger mask would mean equal bits under the smaller one.
    fn grow(&mut self) {
        let len = self.slots.len() * 2;
        let old = std::mem::replace(
            &mut self.slots,
            std::iter::repeat_with(Default::default).take(len).collect(),
        );
        for waiter in old {
            if waiter.id() != 0 {
                let i = self.index(waiter.id());
                self.slots[i] = waiter;
            }
        }
    }

    /// The waiter of request `id`, if it is in flight.
    pub fn get_mut(&mut self, id: u32) -> Option<&mut W> {
        let i = self.index(id);
        let slot = &mut self.slots[i];
        (slot.id() == id && id != 0).then_some(slot)
    }

    /// Ends request `id` (if in flight), freeing its slot; returns its waiter.
    #[cfg(test)]
    pub fn remove(&mut self, id: u32) -> Option<W> {
        let i = self.index(id);
        if self.slots[i].id() != id || id == 0 {
            return None;
        }
        self.used -= 1;
        Some(std::mem::take(&mut self.slots[i]))
    }

    /// Ends request `id` (if in flight), dropping its waiter where it is.
    pub fn discard(&mut self, id: u32) {
        if let Some(slot) = self.get_mut(id) {
            slot.vacate();
            self.used -= 1;
        }
    }

    /// Ends request `id` (if in flight) without emptying its slot: for a waiter whose
    /// parts were all taken out. Whatever is left is dropped when the slot is next
    /// emptied, or overwritten when it is next filled.
    pub fn release(&mut self, id: u32) {
        if let Some(slot) = self.get_mut(id) {
            slot.set_id(0);
            self.used -= 1;
        }
    }

    /// Keeps the requests for which `keep` says true; ends the others.
    pub fn retain(&mut self, mut keep: impl FnMut(&mut W) -> bool) {
        for waiter in &mut self.slots {
            if waiter.id() != 0 && !keep(waiter) {
                waiter.vacate();
                self.used -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slot holding a number: (id, value).
    #[derive(Default, Debug, PartialEq)]
    struct Num(u32, u32);

    impl Slot for Num {
        fn id(&self) -> u32 {
            self.0
        }
        fn set_id(&mut self, id: u32) {
            self.0 = id;
        }
        fn vacate(&mut self) {
            *self = Num(0, 0);
        }
    }

    /// Fills a slot with `v`.
    fn put(v: u32) -> impl FnOnce(&mut Num) {
        move |w| w.1 = v
    }

    #[test]
    fn ids_wrap_past_the_top_skipping_0_and_every_id_in_flight() {
        let mut slots: Slots<Num> = Slots::starting_at(u32::MAX - 2);
        let (held, _) = slots.insert(put(7)); // stays in flight across the wrap
        assert_eq!(held, u32::MAX - 2);
        let mut seen = vec![];
        for _ in 0..4 {
            let (id, _) = slots.insert(put(1));
            seen.push(id);
            assert_eq!(slots.remove(id), Some(Num(id, 1)));
        }
        assert_eq!(seen, [u32::MAX - 1, u32::MAX, 1, 2]);
        // Around the table once more: the held id's slot is skipped, not reused.
        let len = slots.slots.len() as u32;
        let mut ids = vec![];
        for _ in 0..len {
            let (id, _) = slots.insert(put(1));
            ids.push(id);
            slots.remove(id);
        }
        assert!(!ids.contains(&held) && !ids.contains(&0));
        assert!(
            ids.iter()
                .all(|&id| id as usize % len as usize != held as usize % len as usize)
        );
        assert_eq!(slots.get_mut(held), Some(&mut Num(held, 7)));
        assert_eq!(slots.len(), 1);
    }

    #[test]
    fn growing_keeps_every_request_findable_and_ids_distinct() {
        let mut slots: Slots<Num> = Slots::starting_at(1);
        let mut live = std::collections::HashMap::new();
        // 10,000 in flight, with some finished along the way (out of order).
        for n in 0..10_000u32 {
            let (id, _) = slots.insert(put(n));
            assert!(live.insert(id, n).is_none(), "id {id} given twice");
            if n % 3 == 0 {
                let old = id / 2 + 1;
                if let Some(v) = live.remove(&old) {
                    assert_eq!(slots.remove(old), Some(Num(old, v)));
                }
            }
        }
        assert_eq!(slots.len(), live.len());
        assert!(slots.slots.len() >= 2 * live.len());
        for (&id, &n) in &live {
            assert_eq!(slots.get_mut(id), Some(&mut Num(id, n)));
        }
        // A reply for an id not in flight finds nothing.
        assert_eq!(slots.get_mut(20_000), None);
        assert_eq!(slots.remove(20_000), None);
        let some = *live.keys().next().unwrap();
        slots.discard(some);
        live.remove(&some);
        assert_eq!(slots.get_mut(some), None);
        slots.retain(|w| w.0 % 2 == 0);
        assert_eq!(slots.len(), live.keys().filter(|&&id| id % 2 == 0).count());
    }
}
