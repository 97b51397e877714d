//! Discovery: the target under test, the documents each spec version says a client finds it
//! by (the unauthenticated MCP request, protected resource metadata, authorization server
//! metadata), and the run's cache that fetches each once.

mod cache;
mod documents;

pub use cache::Discovered;
pub use documents::*;
