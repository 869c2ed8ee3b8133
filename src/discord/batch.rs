//! The gate calls of one isolate that fall in the same moment, sent as one. A signal fanned out
//! to fifty targets makes fifty Discord requests at once, each needing a slot before it and a
//! report after it: fifty acquires (and, as the answers come in, observes) in a row through one
//! object, which locally is most of the fan-out's cost. The first caller of a moment opens a
//! batch and lets the current turn finish (one microtask), so that every caller polled in that
//! turn joins; then one `acquire-many` (or `observe-many`) carries them all, and each caller
//! takes its own answer. The gate answers the items in order, exactly as it would have answered
//! the same calls arriving back to back, so batching changes no decision.
//!
//! A batch never outlives the turn that opened it: it closes in that turn's microtasks, before
//! the isolate handles another event. So its callers all belong to one request (one event of
//! one object or of the edge), and the gate call's I/O is never awaited from another request's
//! context, which the runtime forbids.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::thread::LocalKey;

use futures_util::future::{FutureExt, LocalBoxFuture, Shared};
use relay_discord::gate::Observed;
use relay_discord::ratelimit::{Acquire, Feedback, Permit};
use relay_discord::requests::RateKey;
use wasm_bindgen::JsValue;
use worker::Env;

use crate::durable_objects::discord_gate::api::ObserveBody;
use crate::durable_objects::discord_gate::client::{GateClient, GateUnavailable};

type Answers<R> = Result<Rc<Vec<R>>, GateUnavailable>;

struct Open<T, R> {
    items: Rc<RefCell<Vec<T>>>,
    flight: Shared<LocalBoxFuture<'static, Answers<R>>>,
}

type Slot<T, R> = RefCell<BTreeMap<String, Open<T, R>>>;

thread_local! {
    static ACQUIRES: Slot<RateKey, Acquire> = const { RefCell::new(BTreeMap::new()) };
    static OBSERVES: Slot<ObserveBody, Observed> = const { RefCell::new(BTreeMap::new()) };
}

pub async fn acquire(env: &Env, gate: &str, key: &RateKey) -> Result<Acquire, GateUnavailable> {
    let env = env.clone();
    let name = gate.to_string();
    join(&ACQUIRES, gate, key.clone(), move |keys| {
        async move { GateClient::new(&env, &name)?.acquire_many(keys).await }.boxed_local()
    })
    .await
}

pub async fn observe(
    env: &Env,
    gate: &str,
    permit: &Permit,
    feedback: &Feedback,
) -> Result<Observed, GateUnavailable> {
    let env = env.clone();
    let name = gate.to_string();
    let item = ObserveBody {
        permit: permit.clone(),
        feedback: feedback.clone(),
    };
    join(&OBSERVES, gate, item, move |items| {
        async move { GateClient::new(&env, &name)?.observe_many(items).await }.boxed_local()
    })
    .await
}

async fn join<T: 'static, R: Clone + 'static>(
    slot: &'static LocalKey<Slot<T, R>>,
    gate: &str,
    item: T,
    send: impl FnOnce(Vec<T>) -> LocalBoxFuture<'static, Result<Vec<R>, GateUnavailable>> + 'static,
) -> Result<R, GateUnavailable> {
    let (flight, index) = slot.with(|open| {
        let mut open = open.borrow_mut();
        if let Some(batch) = open.get(gate) {
            let mut items = batch.items.borrow_mut();
            items.push(item);
            return (batch.flight.clone(), items.len() - 1);
        }
        let items = Rc::new(RefCell::new(vec![item]));
        let taken = items.clone();
        let key = gate.to_string();
        let flight = async move {
            end_of_turn().await;
            // Callers from now on open the next batch.
            slot.with(|open| open.borrow_mut().remove(&key));
            let batch = std::mem::take(&mut *taken.borrow_mut());
            let n = batch.len();
            let answers = send(batch).await?;
            if answers.len() != n {
                return Err(GateUnavailable(format!(
                    "the gate answered {} of {n} batched calls",
                    answers.len()
                )));
            }
            Ok(Rc::new(answers))
        }
        .boxed_local()
        .shared();
        open.insert(
            gate.to_string(),
            Open {
                items,
                flight: flight.clone(),
            },
        );
        (flight, 0)
    });
    let answers = flight.await?;
    answers
        .get(index)
        .cloned()
        .ok_or_else(|| GateUnavailable("a batched call lost its answer".into()))
}

/// Resolves after everything already running in this turn has run (a microtask).
async fn end_of_turn() {
    let _ =
        wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&JsValue::UNDEFINED)).await;
}
