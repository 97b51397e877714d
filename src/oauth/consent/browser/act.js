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
  if (document.readyState === "loading") return { state: "loading" };
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
  const idle = {
    state: "idle",
    view,
    plain: document.scripts.length === 0 && document.forms.length === 0,
    moving: document.querySelector("meta[http-equiv='refresh' i]") !== null,
    person: controls.length > 0,
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
      if (el && el.value !== value) {
        fill(el, value);
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
    form = form || [...document.forms].find(shown);
    button = form && [...form.querySelectorAll("button, input[type=submit]")]
      .find((b) => shown(b) && (b.type || "submit").toLowerCase() === "submit" && !refuses(b));
  }
  if (!button) return idle;
  button.click();
  return { state: "pressed", view };
}
