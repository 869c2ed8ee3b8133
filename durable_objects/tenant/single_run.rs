//! A loop over batches that runs once at a time per object: the outbox deliveries of the
//! projection and of the mirror handoff. A caller arriving while it runs makes it go round
//! again instead of starting a second loop beside it.

use std::cell::RefMut;
use std::future::Future;

use worker::Result;

#[derive(Debug, Default)]
pub struct SingleRun {
    running: bool,
    again: bool,
}

/// Runs `batch` until it reports nothing left (`Ok(false)`) with no caller having arrived
/// meanwhile, or until it fails. `None`: a run was already going, and goes round once more.
/// `flags` borrows the run's state only for a moment, never across a batch.
pub async fn run<'a, Fut>(
    flags: impl Fn() -> RefMut<'a, SingleRun>,
    mut batch: impl FnMut() -> Fut,
) -> Option<Result<()>>
where
    Fut: Future<Output = Result<bool>>,
{
    {
        let mut f = flags();
        if f.running {
            f.again = true;
            return None;
        }
        f.running = true;
    }
    let result = loop {
        flags().again = false;
        match batch().await {
            Ok(true) => continue,
            Ok(false) if flags().again => continue,
            Ok(false) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    flags().running = false;
    Some(result)
}
