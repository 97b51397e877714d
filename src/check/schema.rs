//! JSON Schemas from `fixtures/schemas/`, embedded and compiled once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use include_dir::{Dir, include_dir};

static SCHEMAS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/fixtures/schemas");

/// Compiled schemas by file name. Compilation errors surface as case-file errors.
pub struct Schemas {
    compiled: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl Schemas {
    pub fn embedded() -> Self {
        Schemas {
            compiled: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, name: &str) -> Result<Arc<jsonschema::Validator>, String> {
        let mut compiled = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = compiled.get(name) {
            return Ok(v.clone());
        }
        let known = || {
            let names: Vec<String> = SCHEMAS.files().map(|f| f.path().display().to_string()).collect();
            names.join(", ")
        };
        let file = SCHEMAS
            .get_file(name)
            .ok_or_else(|| format!("no schema `{name}` in fixtures/schemas (known: {})", known()))?;
        let json: serde_json::Value =
            serde_json::from_slice(file.contents()).map_err(|e| format!("fixtures/schemas/{name} is not JSON: {e}"))?;
        let validator = jsonschema::validator_for(&json)
            .map_err(|e| format!("fixtures/schemas/{name} is not a valid JSON Schema: {e}"))?;
        let validator = Arc::new(validator);
        compiled.insert(name.to_owned(), validator.clone());
        Ok(validator)
    }
}
