//! The reference MCP server's state handles (MCP 2026-07-28 is stateless; a server that keeps
//! state mints a handle and takes it back as a tool argument): tool `cart_create` mints a cart
//! for the caller, `cart_show` shows one. Security Best Practices, State Handle Hijacking: a
//! handle is no credential, is random, and serves only the user it was minted for.

use serde_json::{Value, json};

use super::signing::Claims;
use super::{Fault, State};

/// The tool that mints a handle, and the one that uses it.
pub const MINT_TOOL: &str = "cart_create";
pub const USE_TOOL: &str = "cart_show";

/// What the run needs to mint and use a handle (config `[state_handle]`).
pub fn config() -> crate::config::StateHandle {
    let call = |name: &str, arguments: Value| {
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
            .to_string()
    };
    crate::config::StateHandle {
        mint: call(MINT_TOOL, json!({})),
        pointer: "/result/structuredContent/cart_id".to_owned(),
        request: call(USE_TOOL, json!({"cart_id": "{state_handle}"})),
    }
}

/// The result of a `tools/call` of a cart tool for `caller` (None: no token, which only fault
/// state-handle-authenticates lets through); None for other tools.
pub(super) fn call(s: &State, request: &Value, caller: Option<&Claims>) -> Option<Value> {
    let name = request.pointer("/params/name")?.as_str()?;
    let mut store = s.store.lock().unwrap_or_else(|p| p.into_inner());
    match name {
        MINT_TOOL => {
            let user = caller.map_or("", |c| c.sub.as_str());
            let id = store.new_handle(s.has(Fault::SequentialStateHandles), user);
            Some(
                json!({"content": [{"type": "text", "text": format!("cart {id}")}], "structuredContent": {"cart_id": id}}),
            )
        }
        USE_TOOL => {
            let id = request
                .pointer("/params/arguments/cart_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let owner = store.handles.get(id);
            let mine = match caller {
                Some(caller) => owner.is_some_and(|o| *o == caller.sub || s.has(Fault::StateHandleNotBound)),
                None => owner.is_some(),
            };
            Some(match mine {
                true => json!({"content": [{"type": "text", "text": format!("cart {id}: empty")}]}),
                false => json!({"content": [{"type": "text", "text": "no such cart"}], "isError": true}),
            })
        }
        _ => None,
    }
}

/// Fault state-handle-authenticates: a request using a handle that exists needs no token.
pub(super) fn names_known_handle(s: &State, body: &str) -> bool {
    let request: Value = serde_json::from_str(body).unwrap_or_default();
    let id = request.pointer("/params/arguments/cart_id").and_then(Value::as_str);
    let store = s.store.lock().unwrap_or_else(|p| p.into_inner());
    id.is_some_and(|id| store.handles.contains_key(id))
}
