//! Reads from Discord that several targets' loops need at the same moment (an author's
//! avatar, what a message replies to): the first asks, the others wait for its answer, so
//! fifty targets of one new message cost one request rather than fifty (and no route bucket
//! is spent on copies of it). The answer itself is kept in storage by the asker.

use std::rc::Rc;

use futures_util::future::{FutureExt, LocalBoxFuture, Shared as SharedFuture};

use super::Shared;
use crate::discord::SendError;

pub type Answer = Result<Option<String>, SendError>;
pub type Lookup = SharedFuture<LocalBoxFuture<'static, Answer>>;

pub async fn single_flight(
    sh: &Rc<Shared>,
    key: String,
    ask: impl FnOnce(Rc<Shared>) -> LocalBoxFuture<'static, Answer>,
) -> Answer {
    let existing = sh.lookups.borrow().get(&key).cloned();
    let flight = match existing {
        Some(f) => f,
        None => {
            let f = ask(sh.clone()).shared();
            sh.lookups.borrow_mut().insert(key.clone(), f.clone());
            f
        }
    };
    let answer = flight.clone().await;
    let mut lookups = sh.lookups.borrow_mut();
    if lookups.get(&key).is_some_and(|f| f.ptr_eq(&flight)) {
        lookups.remove(&key);
    }
    answer
}
