//! A page the authorization chain stopped at, as a user needs it described: what it offers
//! (its forms, their fields and buttons, whether it runs script), and the `[consent]` lines
//! most likely to pass it.

use scraper::{ElementRef, Html, Selector};

use crate::http::Response;

/// Words of a button that gives consent or signs in, most telling first.
const APPROVING: [&str; 12] = [
    "approve",
    "allow",
    "accept",
    "authorize",
    "authorise",
    "consent",
    "grant",
    "yes",
    "continue",
    "sign in",
    "log in",
    "login",
];

/// The most text a page built by script shows in its HTML.
const SHELL_TEXT: usize = 80;

/// The text a person sees without scripts (script, style, template and noscript left out),
/// from `root`, up to about `limit` characters: one pass over the tree, stopping there (a
/// hostile page may nest deep or be large).
pub(crate) fn shown_text(root: ElementRef, limit: usize) -> String {
    let mut out = String::new();
    let mut stack: Vec<_> = root.children().rev().collect();
    while let Some(node) = stack.pop() {
        if out.len() >= limit {
            break;
        }
        match node.value() {
            scraper::Node::Text(text) => {
                let text = text.trim();
                if !text.is_empty() {
                    out.push_str(text);
                    out.push(' ');
                }
            }
            scraper::Node::Element(e) if matches!(e.name(), "script" | "style" | "template" | "noscript") => {}
            _ => stack.extend(node.children().rev()),
        }
    }
    out
}

/// Words of a button that refuses (checked first: "Don't allow" is no approval).
pub(crate) const REFUSING: [&str; 7] = ["deny", "don't", "do not", "cancel", "reject", "decline", "no,"];

/// `s` as a TOML string (the config file's syntax).
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// `key` as a TOML key: bare where it may be, else quoted.
fn toml_key(key: &str) -> String {
    let bare = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare { key.to_owned() } else { toml_string(key) }
}

/// What a page offers a person.
#[derive(Debug, Default, PartialEq)]
pub struct Page {
    pub title: String,
    pub forms: Vec<Form>,
    /// It has `<script>` elements: a page that builds or submits its form in the browser.
    pub scripted: bool,
}

#[derive(Debug, Default, PartialEq)]
pub struct Form {
    pub method: String,
    /// Fields a person fills in: (name, type), hidden ones left out (a driver keeps them).
    pub fields: Vec<(String, String)>,
    /// Each button's label: its text, else its value, else its name.
    pub buttons: Vec<String>,
}

/// The page's title, or "" (an error page's, say).
pub fn title_of(response: &Response) -> String {
    title_in(&Html::parse_document(&String::from_utf8_lossy(&response.body)))
}

fn title_in(doc: &Html) -> String {
    let select = Selector::parse("title").expect("a valid selector");
    doc.select(&select)
        .next()
        .map(|t| t.text().collect::<String>().trim().to_owned())
        .unwrap_or_default()
}

/// A page for a person (200, HTML, with a form or a script), described; None for any other
/// answer (an error page is the case's to judge).
pub fn for_a_person(response: &Response) -> Option<Page> {
    let html = response.media_type().is_some_and(|m| m == "text/html");
    if response.status != 200 || !html {
        return None;
    }
    let text = String::from_utf8_lossy(&response.body);
    let doc = Html::parse_document(&text);
    let select = |css: &str| Selector::parse(css).expect("a valid selector");
    let title = title_in(&doc);
    let forms: Vec<Form> = doc.select(&select("form")).map(describe_form).collect();
    let scripted = doc.select(&select("script")).next().is_some();
    // A page built by script shows next to nothing before it runs; an error page that loads
    // a script (analytics, a theme) says what went wrong, and is the case's to judge.
    let body = doc.select(&select("body")).next();
    let shell = scripted && body.is_none_or(|b| shown_text(b, SHELL_TEXT).chars().count() < SHELL_TEXT);
    (!forms.is_empty() || shell).then_some(Page { title, forms, scripted })
}

fn describe_form(form: ElementRef) -> Form {
    let select = |css: &str| Selector::parse(css).expect("a valid selector");
    let fields = form
        .select(&select("input[name], select[name], textarea[name]"))
        .filter_map(|input| {
            let kind = input.value().attr("type").unwrap_or("text").to_ascii_lowercase();
            let hidden = matches!(kind.as_str(), "hidden" | "submit" | "button" | "image" | "reset");
            let name = input.value().attr("name")?.to_owned();
            (!hidden).then_some((name, kind))
        })
        .collect();
    let buttons = form
        .select(&select("button, input[type=submit]"))
        .filter_map(|b| {
            let text = b.text().collect::<String>().trim().to_owned();
            let label = [Some(text.as_str()), b.value().attr("value"), b.value().attr("name")]
                .into_iter()
                .flatten()
                .find(|l| !l.is_empty())?;
            Some(label.to_owned())
        })
        .collect();
    Form {
        method: form.value().attr("method").unwrap_or("get").to_ascii_uppercase(),
        fields,
        buttons,
    }
}

impl Page {
    /// One line: the title and what the page offers.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("title: {:?}", self.title)];
        for form in &self.forms {
            let fields: Vec<String> = form
                .fields
                .iter()
                .map(|(name, kind)| match kind.as_str() {
                    "text" => name.clone(),
                    kind => format!("{name} ({kind})"),
                })
                .collect();
            let buttons: Vec<String> = form.buttons.iter().map(|b| format!("{b:?}")).collect();
            parts.push(format!(
                "a {} form with fields [{}] and buttons [{}]",
                form.method,
                fields.join(", "),
                buttons.join(", ")
            ));
        }
        match (self.forms.is_empty(), self.scripted) {
            (true, _) => parts.push("no form in its HTML, and it runs script".to_owned()),
            (false, true) => parts.push("it runs script".to_owned()),
            (false, false) => {}
        }
        parts.join("; ")
    }

    /// The `[consent]` lines most likely to pass the page (values to fill in are shown as
    /// `<...>`) with the `form` driver, or the `browser` driver where it `stopped` (where the
    /// page builds its form by script, the browser's); or what to use where neither can.
    pub fn hint(&self, stopped: &str) -> String {
        // The form a driver submits: the page's first.
        let Some(form) = self.forms.first() else {
            return match stopped {
                "browser" => "it shows no form even in the browser: use `[consent] driver = \"command\"` \
                              (a browser automation of your own) or \"manual\""
                    .to_owned(),
                _ => "it builds its page in the browser, which the `form` driver cannot do: use \
                      `[consent] driver = \"browser\"` (headless Chromium), with the fields and the \
                      button it shows there, or \"command\" (a browser automation of your own) or \"manual\""
                    .to_owned(),
            };
        };
        let driver = if stopped == "browser" { "browser" } else { "form" };
        let mut lines = vec![format!("driver = \"{driver}\"")];
        let refusing = |b: &&String| {
            let b = b.to_lowercase();
            REFUSING.iter().any(|word| b.contains(word))
        };
        let approving = APPROVING.iter().find_map(|word| {
            form.buttons
                .iter()
                .filter(|b| !refusing(b))
                .find(|b| b.to_lowercase().contains(word))
        });
        if let Some(button) = approving.or(form.buttons.iter().rfind(|b| !refusing(b))) {
            lines.push(format!("submit = {}", toml_string(button)));
        }
        let (secret, plain): (Vec<_>, Vec<_>) = form.fields.iter().partition(|(_, kind)| kind == "password");
        if !plain.is_empty() {
            let values: Vec<String> = plain
                .iter()
                .map(|(name, _)| format!("{} = {}", toml_key(name), toml_string(&format!("<{name}>"))))
                .collect();
            lines.push(format!("fields = {{ {} }}", values.join(", ")));
        }
        if !secret.is_empty() {
            let envs: Vec<String> = secret
                .iter()
                .map(|(name, _)| format!("{} = \"<ENV VAR holding it>\"", toml_key(name)))
                .collect();
            lines.push(format!("fields_env = {{ {} }}", envs.join(", ")));
        }
        format!("to pass it, try in --config: [consent] {}", lines.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(body: &str) -> Response {
        Response {
            status: 200,
            headers: vec![("content-type".to_owned(), "text/html; charset=utf-8".to_owned())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_login_and_consent_form_is_described_with_the_lines_that_pass_it() {
        let page = r#"<title>Authorize mcp</title><form method="post" action="/consent">
            <input type="hidden" name="csrf" value="x"><input name="username"><input name="password" type="password">
            <button name="decision" value="deny">Deny</button><button name="decision" value="approve">Allow access</button></form>"#;
        let page = for_a_person(&html(page)).unwrap();
        assert_eq!(
            page.describe(),
            r#"title: "Authorize mcp"; a POST form with fields [username, password (password)] and buttons ["Deny", "Allow access"]"#
        );
        assert_eq!(
            page.hint("form"),
            r#"to pass it, try in --config: [consent] driver = "form", submit = "Allow access", fields = { username = "<username>" }, fields_env = { password = "<ENV VAR holding it>" }"#
        );
    }

    #[test]
    fn a_page_built_by_script_points_at_the_drivers_that_can_pass_it() {
        let page = for_a_person(&html(
            "<title>Sign in</title><div id=app></div><script src=app.js></script>",
        ))
        .unwrap();
        assert!(page.describe().contains("no form in its HTML, and it runs script"));
        assert!(page.hint("form").contains("\"browser\""), "{}", page.hint("form"));
    }

    #[test]
    fn the_suggested_lines_are_toml_and_never_press_a_refusal() {
        let page = r#"<form method="post"><input name="user[email]"><button>Don't allow</button><button>Allow&nbsp;access</button></form>"#;
        let hint = for_a_person(&html(page)).unwrap().hint("form");
        let lines = hint
            .trim_start_matches("to pass it, try in --config: [consent] ")
            .replace(", submit", "\nsubmit")
            .replace(", fields", "\nfields");
        let parsed: toml::Table = toml::from_str(&lines).unwrap_or_else(|e| panic!("{lines}: {e}"));
        assert_eq!(parsed["submit"].as_str(), Some("Allow\u{a0}access"));
        assert!(parsed["fields"].as_table().unwrap().contains_key("user[email]"));
    }

    #[test]
    fn an_error_page_or_a_redirect_is_not_for_a_person() {
        assert_eq!(
            for_a_person(&html("<title>Error</title><p>invalid redirect_uri</p>")),
            None
        );
        let analytics = "<title>Error</title><p>The redirect_uri is not registered for this client; \
                         check the client's registration and try again.</p><script src=/ga.js></script>";
        assert_eq!(for_a_person(&html(analytics)), None, "an error page loading a script");
        let mut bad = html("<form><button>Retry</button></form>");
        bad.status = 400;
        assert_eq!(for_a_person(&bad), None);
    }
}
