//! JavaScript APIs the `worker` crate does not wrap yet.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::State;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(extends = js_sys::Object)]
    pub type StorageExt;

    /// `ctx.storage.transactionSync(fn)`: runs `fn` in one SQLite transaction, rolled back if it
    /// throws.
    #[wasm_bindgen(method, catch, js_name = transactionSync)]
    fn transaction_sync(this: &StorageExt, f: &js_sys::Function) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(extends = js_sys::Object)]
    pub type StateExt;

    /// When the runtime last answered this socket's auto-response (the client's ping), or null.
    #[wasm_bindgen(method, js_name = getWebSocketAutoResponseTimestamp)]
    fn auto_response_timestamp(this: &StateExt, ws: &web_sys::WebSocket) -> JsValue;

    #[wasm_bindgen(extends = js_sys::Object)]
    pub type SocketExt;

    /// `ws.send(data)` with an existing JS value, so one string is shared by every recipient
    /// instead of being copied out of wasm memory per socket.
    #[wasm_bindgen(method, catch, js_name = send)]
    fn send_value(this: &SocketExt, data: &JsValue) -> Result<(), JsValue>;
}

/// Runs `f` inside `transactionSync`: everything it writes commits together, or nothing does
/// when it returns an error.
pub fn transaction<T: 'static>(
    state: &State,
    f: impl FnOnce() -> worker::Result<T> + 'static,
) -> worker::Result<T> {
    let slot: Rc<RefCell<Option<worker::Result<T>>>> = Rc::new(RefCell::new(None));
    let out = slot.clone();
    let callback = Closure::once(move || -> Result<JsValue, JsValue> {
        let result = f();
        let failed = result.is_err();
        *out.borrow_mut() = Some(result);
        if failed {
            Err(JsValue::from_str("transaction rolled back"))
        } else {
            Ok(JsValue::UNDEFINED)
        }
    });
    let storage = state.storage();
    let ext: &StorageExt = storage.as_raw().unchecked_ref();
    let js_result = ext.transaction_sync(callback.as_ref().unchecked_ref());
    drop(callback);
    let result = slot.borrow_mut().take();
    match (js_result, result) {
        (_, Some(result)) => result,
        (Err(e), None) => Err(worker::Error::from(e)),
        (Ok(_), None) => Err(worker::Error::RustError(
            "transaction callback did not run".into(),
        )),
    }
}

pub fn auto_response_ms(state: &State, ws: &worker::WebSocket) -> Option<i64> {
    let ext: &StateExt = state.as_raw().unchecked_ref();
    let v = ext.auto_response_timestamp(ws.as_ref());
    v.dyn_into::<js_sys::Date>()
        .ok()
        .map(|d| d.get_time() as i64)
}

pub fn send_shared(ws: &worker::WebSocket, data: &JsValue) -> bool {
    let raw: &web_sys::WebSocket = ws.as_ref();
    let ext: &SocketExt = raw.unchecked_ref();
    ext.send_value(data).is_ok()
}
