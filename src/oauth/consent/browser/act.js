// One step of the `browser` consent driver, run in an isolated world of the page (the page's
// scripts cannot see its arguments, nor change the functions it calls): fill the configured
// fields the page shows, then, at a later step, press the configured button (or the first
// submit button of the filled form that does not refuse).
// Called as `(ACT)(args)`; args: { fields: [[key, value]], submit: [label], refusing: [word],
// refused: [origin], last: the view last pressed on, or null, mayPress }. Answers:
//   { state: "loading" }: the document is not parsed yet;
//   { state: "error", text }: Chromium's own error page (the page could not be loaded);
//   { state: "filled" }: fields were filled (pressed at the next step, once the page's
//     framework has taken the values in);
//   { state: "pressed", view }: a button was pressed on `view`;
//   { state: "idle", view, plain, moving, person }: nothing (more) to do here. plain: no script
//     and no form (nothing will change it); moving: a timed refresh is pending; person: it asks
//     for input (visible fields), so it is never the authorization server's final answer.
(args) => {
  if (location.protocol === "chrome-error:") {
    return { state: "error", text: (document.body?.innerText || "").slice(0, 300) };
  }
  // Parsed, and loaded or given 3 s (one slow image must not stop the driver; pressing before
  // the page's own submit handler is attached would send its form the browser's way).
  const ready = document.readyState === "complete" || (document.readyState === "interactive" && performance.now() > 3000);
  if (!ready) return { state: "loading" };
  const norm = (s) => (s || "").replace(/\s+/g, " ").trim().toLowerCase();
  const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const controls = [...document.querySelectorAll("input, textarea, select")]
    .filter((el) => !["hidden", "submit", "button", "image", "reset"].includes(el.type) && shown(el));
  const buttons = [...document.querySelectorAll("button, input[type=submit], input[type=button], [role=button]")]
    .filter((el) => shown(el) && !el.disabled);
  const label = (b) => norm(b.tagName === "INPUT" ? b.value : b.textContent);
  const refuses = (b) => args.refusing.some((word) => label(b).includes(word));
  // The view: where the page is and what it shows. Pressing twice on one view would repeat a
  // refused sign-in forever.
  const view = [location.href, controls.map((c) => c.name || c.id).join(","), buttons.map(label).join(",")].join("|");
  // A search box (a site header's) is no request for input; a text field is.
  const searching = (el) => el.type === "search" || ["q", "query", "search"].includes(norm(el.name)) ||
    el.closest("[role=search]") !== null;
  const asks = controls.some((el) =>
    (el.tagName === "TEXTAREA" || ["text", "email", "password", "tel", "number", "url"].includes(el.type)) && !searching(el));
  const refresh = document.querySelector("meta[http-equiv='refresh' i]");
  const idle = {
    state: "idle",
    view,
    plain: document.scripts.length === 0 && document.forms.length === 0,
    // A refresh due within 10 s: the page is on its way.
    moving: refresh !== null && parseFloat(refresh.content) <= 10,
    person: asks,
  };
  if (view === args.last || !args.mayPress) return idle;

  // A field by its name, id, label, aria-label or placeholder, else a CSS selector.
  const find = (key) => {
    const k = norm(key);
    const named = controls.find((el) =>
      [el.name, el.id, el.getAttribute("aria-label"), el.placeholder].some((n) => norm(n) === k) ||
      [...(el.labels || [])].some((l) => norm(l.textContent) === k));
    if (named) return named;
    try {
      const el = document.querySelector(key);
      return el && shown(el) ? el : null;
    } catch (e) {
      return null; // not a selector
    }
  };
  // Through the prototype's setter, so frameworks that track the value (React) see it.
  const fill = (el, value) => {
    const setter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el), "value")?.set;
    if (setter) setter.call(el, value); else el.value = value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  };
  let form = null;
  let filled = false;
  if (!args.refused.includes(location.origin)) {
    for (const [key, value] of args.fields) {
      const el = find(key);
      // Once per field: a page that reshapes what was typed (lower case, a mask) keeps its way.
      // (The mark lives in this isolated world: the page cannot see it.)
      if (el && el.value !== value && el.mcpFilled !== value) {
        fill(el, value);
        el.mcpFilled = value;
        filled = true;
      }
      form = form || el?.form || null;
    }
  }
  if (filled) return { state: "filled" };
  let button = null;
  for (const wanted of args.submit) {
    const w = norm(wanted);
    button = buttons.find((b) => label(b) === w || norm(b.name) === w || norm(b.value) === w || norm(b.id) === w);
    if (button) break;
  }
  if (!button && args.submit.length === 0) {
    // The form with the filled fields, else the first that is not a search box.
    const search = (f) => f.getAttribute("role") === "search" ||
      [...f.elements].some((el) => el.type === "search" || ["q", "query", "search"].includes(norm(el.name)));
    form = form || [...document.forms].find((f) => shown(f) && !search(f));
    button = form && [...form.querySelectorAll("button, input[type=submit]")]
      .find((b) => shown(b) && (b.type || "submit").toLowerCase() === "submit" && !refuses(b));
  }
  // A password sent in a URL lands in access logs: such a form is for a person (or a broken page).
  const leaks = button?.form && (button.form.method || "get").toLowerCase() === "get" &&
    [...button.form.elements].some((el) => el.type === "password" && el.value);
  if (!button || leaks) return idle;
  button.click();
  return { state: "pressed", view };
}
