// One step of the `browser` consent driver, run in the page: fill the configured fields that
// the page shows, then press the configured button (or the filled form's first submit button).
// Called as `(ACT)(args)`; args: { fields: [[key, value]], submit: [label], refused: [origin],
// last: the view last pressed on, or null }. Answers { state, view, plain }:
//   loading: the document is not ready; pressed: a button was pressed on `view`;
//   idle: nothing (more) to do here (the driver waits, then judges the page);
//   plain: the page has neither script nor form (nothing will change it: an error page).
(args) => {
  if (document.readyState !== "complete") return { state: "loading" };
  const norm = (s) => (s || "").replace(/\s+/g, " ").trim().toLowerCase();
  const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const controls = [...document.querySelectorAll("input, textarea, select")]
    .filter((el) => el.type !== "hidden" && shown(el));
  const buttons = [...document.querySelectorAll("button, input[type=submit], input[type=button], [role=button]")]
    .filter((el) => shown(el) && !el.disabled);
  const label = (b) => norm(b.tagName === "INPUT" ? b.value : b.textContent);
  // The view: where the page is and what it shows. Pressing twice on one view would repeat a
  // refused sign-in forever.
  const view = [location.href, controls.map((c) => c.name || c.id).join(","), buttons.map(label).join(",")].join("|");
  const plain = document.scripts.length === 0 && document.forms.length === 0;
  if (view === args.last) return { state: "idle", view, plain };

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
    const proto = Object.getPrototypeOf(el);
    const setter = Object.getOwnPropertyDescriptor(proto, "value")?.set;
    if (setter) setter.call(el, value); else el.value = value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  };
  let form = null;
  if (!args.refused.includes(location.origin)) {
    for (const [key, value] of args.fields) {
      const el = find(key);
      if (el && el.value !== value) fill(el, value);
      form = form || el?.form || null;
    }
  }
  let button = null;
  for (const wanted of args.submit) {
    const w = norm(wanted);
    button = buttons.find((b) => label(b) === w || norm(b.name) === w || norm(b.value) === w || norm(b.id) === w);
    if (button) break;
  }
  if (!button && args.submit.length === 0) {
    form = form || document.querySelector("form");
    button = form && [...form.querySelectorAll("button, input[type=submit]")]
      .find((b) => shown(b) && (b.type || "submit").toLowerCase() === "submit");
  }
  if (!button) return { state: "idle", view, plain };
  button.click();
  return { state: "pressed", view };
}
