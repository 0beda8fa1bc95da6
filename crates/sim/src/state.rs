//! Platform-neutral pieces of an emulator's store: monotonic id generators and per-kind counts.

use std::collections::BTreeMap;

/// Hands out increasing ids, as the platforms do: never reused, even after a delete.
#[derive(Debug, Clone)]
pub struct IdGen {
    next: u64,
    step: u64,
}

impl IdGen {
    /// Ids starting at `first`, each `step` above the last.
    pub fn new(first: u64, step: u64) -> Self {
        Self {
            next: first,
            step: step.max(1),
        }
    }

    /// The next id.
    pub fn next_id(&mut self) -> u64 {
        let id = self.next;
        self.next += self.step;
        id
    }

    /// Reserves `n` consecutive ids (spaced by the step) and returns the first.
    pub fn reserve(&mut self, n: u64) -> u64 {
        let first = self.next;
        self.next += self.step * n;
        first
    }

    /// The id the next call would return.
    pub fn peek(&self) -> u64 {
        self.next
    }
}

/// Counts of records per kind, as `/_sim/state` reports them.
pub type Counts = BTreeMap<&'static str, usize>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_reservations_skip_ahead() {
        let mut ids = IdGen::new(100, 2);
        assert_eq!(ids.next_id(), 100);
        assert_eq!(ids.reserve(3), 102);
        assert_eq!(ids.next_id(), 108);
        assert_eq!(ids.peek(), 110);
    }
}
