//! The login and consent page built by script (`reference --login-form=script`), as single-page
//! sign-ins are: the HTML holds no form; after load, the script asks for the user name, then
//! (after "Next") for the password and the decision. Only a driver that runs the page's script
//! (the `browser` consent driver) passes it; the `form` driver sees a page for a person.

use serde_json::json;

use super::*;

/// The page for the authorization transaction `txn`, posting to `consent` as the HTML form does.
pub(in crate::reference) fn page(txn: &str, pending: &Pending) -> String {
    let data = json!({
        "txn": txn,
        "csrf": pending.csrf,
        "client": pending.grant.client_id,
        "scope": pending.grant.scope.as_deref().unwrap_or("(none)"),
        "redirect": pending.redirect_uri,
    });
    // JSON in a script element: no `<` at all (`</script>`, `<!--` change how it is parsed).
    let data = data.to_string().replace('<', "\\u003c");
    format!(
        "<!doctype html><html><head><title>Sign in to the reference AS</title></head><body>\
         <div id=\"app\"></div><script>const data = {data};\n{SCRIPT}</script></body></html>"
    )
}

/// Renders after a moment (as an app fetching its configuration does), then in two steps.
const SCRIPT: &str = r#"
const app = document.getElementById("app");
const el = (tag, attrs, ...children) => {
  const node = Object.assign(document.createElement(tag), attrs);
  node.append(...children);
  return node;
};
const field = (text, attrs) => {
  const input = el("input", attrs);
  input.id = attrs.name || "identifier";
  const label = el("label", {}, text);
  label.htmlFor = input.id;
  return [label, input];
};
function askUser() {
  const next = el("button", { type: "button" }, "Next");
  const [label, input] = field("Email or username", {});
  next.addEventListener("click", () => input.value && askPassword(input.value));
  app.replaceChildren(el("h1", {}, "Sign in"), label, input, next);
}
function askPassword(user) {
  const form = el("form", { method: "post", action: "consent" });
  const hidden = (name, value) => el("input", { type: "hidden", name, value });
  const button = (value, text) => el("button", { type: "submit", name: "decision", value }, text);
  form.append(
    hidden("txn", data.txn), hidden("csrf", data.csrf), hidden("username", user),
    el("p", {}, `The MCP client ${data.client} asks for ${data.scope}; its tokens go to ${data.redirect}.`),
    ...field("Password", { name: "password", type: "password" }),
    button("deny", "Deny"), button("approve", "Approve"));
  app.replaceChildren(el("h1", {}, `Welcome, ${user}`), form);
}
setTimeout(askUser, 50);
"#;
