//! The OAuth 2.1 client side of the suite: PKCE values, the valid requests every negative test
//! varies (as values), the consent driver that carries an authorization request to the
//! redirect URI, the token exchange, and the run's OAuth built on them ([`grants`]).

pub mod cimd;
pub mod consent;
pub mod flow;
pub mod grants;
pub mod pkce;
pub mod proxy;
pub mod requests;
pub mod tokens;
