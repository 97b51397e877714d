//! Errors in the project's own data files (registry, cases), shown against their source with
//! file, line and caret.

use std::ops::Range;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, NamedSource, SourceSpan};

/// One error in one data file. Several are collected and reported together.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
pub struct FileError {
    pub message: String,
    #[source_code]
    pub src: NamedSource<String>,
    #[label("{label}")]
    pub span: SourceSpan,
    pub label: String,
    #[help]
    pub help: Option<String>,
}

impl FileError {
    pub fn new(file: &SourceFile, span: Range<usize>, message: impl Into<String>) -> Self {
        FileError {
            message: message.into(),
            src: NamedSource::new(&file.name, file.text.clone()),
            span: clamp(span, file.text.len()).into(),
            label: "here".to_owned(),
            help: None,
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// A TOML syntax or shape error, placed where the parser says.
    pub fn from_toml(file: &SourceFile, err: &toml::de::Error) -> Self {
        let span = err.span().unwrap_or(0..0);
        FileError::new(file, span, err.message().to_owned()).with_label("invalid")
    }
}

/// Every error found in the data files, reported at once (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{} error(s); nothing was run", errors.len())]
pub struct DataErrors {
    pub errors: Vec<FileError>,
}

impl DataErrors {
    /// Each error against its source, then the count. Plain text unless `color`.
    pub fn render(&self, color: bool) -> String {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
        let mut out = String::new();
        for error in &self.errors {
            // Rendering into a String cannot fail.
            let _ = handler.render_report(&mut out, error);
            out.push('\n');
        }
        out.push_str(&format!("{self}\n"));
        out
    }
}

/// A data file's name (as shown to the user) and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

/// miette needs a span inside the text, and a non-empty one to draw a caret.
fn clamp(span: Range<usize>, len: usize) -> Range<usize> {
    let start = span.start.min(len);
    let end = span.end.clamp(start, len);
    start..end
}

impl SourceFile {
    /// Reads a data file the user named; an unreadable one is a diagnostic like any other.
    pub fn read(path: &std::path::Path) -> Result<SourceFile, DataErrors> {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(SourceFile { name, text }),
            Err(e) => {
                let message = format!("cannot read {name}: {e}");
                let file = SourceFile {
                    name,
                    text: String::new(),
                };
                Err(DataErrors {
                    errors: vec![FileError::new(&file, 0..0, message)],
                })
            }
        }
    }
}
