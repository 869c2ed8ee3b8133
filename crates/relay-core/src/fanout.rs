//! Fan-out pacing: coalesce frames per socket while a broadcast is in flight.
//!
//! A broadcast queues one send per socket; the runtime then does the write work on the same
//! thread, after our code returns. Broadcasting every signal the moment it lands is ideal while
//! that work keeps up, but with a thousand sockets and tens of signals per second each round is
//! still being written when the next signal arrives: broadcasting again stacks another full
//! round behind it, the queue grows for the whole run, and latency climbs with it.
//!
//! So a round is *in flight* from its sends until the event loop has drained them (observed as a
//! zero-delay timer firing, which happens only once the queued work is done). Frames committed
//! meanwhile wait and leave together, as one `batch` frame, the moment the round drains. The
//! cost is paid per round instead of per signal, so the number of rounds adapts to what the
//! machine actually sustains: one signal per round when idle, many when busy — with no tuning
//! constant to get wrong.

/// What the object should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Broadcast the pending frames now and start watching for the round to drain.
    Broadcast,
    /// A round is in flight: keep the frames pending; they leave when it drains.
    Wait,
    /// Nothing is pending.
    Idle,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pacer {
    in_flight: bool,
    pending: bool,
}

impl Pacer {
    /// New frames were committed.
    pub fn on_commit(&mut self) -> Action {
        self.pending = true;
        self.next()
    }

    /// The event loop drained the round in flight.
    pub fn on_drained(&mut self) -> Action {
        self.in_flight = false;
        self.next()
    }

    /// Pending frames were sent outside the pacer (a subscriber joining flushes first, so its
    /// initial frames and the live stream neither overlap nor leave a gap).
    pub fn on_forced_flush(&mut self) {
        self.pending = false;
    }

    pub fn in_flight(&self) -> bool {
        self.in_flight
    }

    fn next(&mut self) -> Action {
        match (self.pending, self.in_flight) {
            (false, _) => Action::Idle,
            (true, true) => Action::Wait,
            (true, false) => {
                self.pending = false;
                self.in_flight = true;
                Action::Broadcast
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_object_broadcasts_each_commit_at_once() {
        let mut p = Pacer::default();
        assert_eq!(p.on_commit(), Action::Broadcast);
        assert_eq!(p.on_drained(), Action::Idle);
        assert_eq!(p.on_commit(), Action::Broadcast);
    }

    #[test]
    fn commits_during_a_round_leave_together_when_it_drains() {
        let mut p = Pacer::default();
        assert_eq!(p.on_commit(), Action::Broadcast);
        assert_eq!(p.on_commit(), Action::Wait);
        assert_eq!(p.on_commit(), Action::Wait);
        assert_eq!(
            p.on_drained(),
            Action::Broadcast,
            "one round for both waiting commits"
        );
        assert!(p.in_flight());
        assert_eq!(p.on_drained(), Action::Idle);
        assert!(!p.in_flight());
    }

    #[test]
    fn a_forced_flush_empties_the_queue() {
        let mut p = Pacer::default();
        p.on_commit();
        p.on_commit();
        p.on_forced_flush();
        assert_eq!(p.on_drained(), Action::Idle);
    }
}
