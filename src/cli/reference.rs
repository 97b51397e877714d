//! `reference`: the reference target (or a test issuer) served until killed.

use mcp_auth_conformance::config::TargetConfig;
use mcp_auth_conformance::exit;
use mcp_auth_conformance::reference::{Fault, Options, Reference, Variation};

use super::runtime;

pub(super) fn reference_command(faults: &[Fault], list: bool, list_variations: bool, options: Options) -> u8 {
    if list {
        for f in Fault::ALL {
            println!("{} {}", f.id(), f.requirements().join(","));
        }
        return exit::OK;
    }
    if list_variations {
        for v in Variation::ALL {
            println!("{} {}", v.id(), v.description());
        }
        return exit::OK;
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let (login_form, login_script) = (options.login_form, options.login_script);
    rt.block_on(async {
        let issuer_only = options.any_resource;
        match Reference::start_with(faults, options).await {
            Ok(reference) if issuer_only => {
                println!("{}", reference.issuer);
                eprintln!(
                    "test issuer: JWT access tokens (ES256) for any resource, keys at {}",
                    reference.jwks_uri
                );
                eprintln!(
                    "point your MCP server's token validation and its PRM `authorization_servers` at the issuer;"
                );
                eprintln!(
                    "then `run --target <your MCP URL> --mint-endpoint {}`",
                    reference.mint_endpoint
                );
                std::future::pending::<()>().await;
                exit::OK
            }
            Ok(reference) => {
                println!("{}", reference.mcp_url);
                eprintln!("authorization server issuer: {}", reference.issuer);
                // What a run against it needs and cannot discover, as `--config` lines.
                let mut config = TargetConfig::default();
                reference.fill_config(&mut config);
                for (name, ip) in reference.resolves() {
                    eprintln!("its servers answer under public names: run with --resolve {name}={ip}");
                }
                eprintln!("target configuration for `run --config`:");
                eprintln!("  second_resource = {:?}", reference.second_resource);
                eprintln!(
                    "  privileged_request = '{}'",
                    config.privileged_request.unwrap_or_default()
                );
                eprintln!("  privileged_scope = {:?}", config.privileged_scope.unwrap_or_default());
                eprintln!("  broad_scope = {:?}", config.broad_scope.unwrap_or_default());
                eprintln!("  mint_endpoint = {:?}", reference.mint_endpoint);
                if let Some(handle) = &config.state_handle {
                    eprintln!("  [state_handle]");
                    eprintln!("  mint = '{}'", handle.mint);
                    eprintln!("  pointer = {:?}", handle.pointer);
                    eprintln!("  use = '{}'", handle.request);
                }
                if let Some(proxy) = &config.proxy {
                    eprintln!("  [proxy]");
                    eprintln!(
                        "  upstream_authorization_endpoint = {:?}",
                        proxy.upstream_authorization_endpoint
                    );
                }
                for line in consent_lines(login_form, login_script, config.proxy.is_some()) {
                    eprintln!("  {line}");
                }
                std::future::pending::<()>().await;
                exit::OK
            }
            Err(e) => {
                eprintln!("error: cannot start the reference target: {e}");
                exit::UNREACHABLE
            }
        }
    })
}

/// The `[consent]` lines that pass the reference's login and consent pages (none where it
/// has none: consent is given by redirects).
fn consent_lines(login_form: bool, login_script: bool, proxy: bool) -> Vec<String> {
    use mcp_auth_conformance::reference::{LOGIN_PASSWORD, LOGIN_USER};
    let password = format!("# with MCP_REFERENCE_PASSWORD={LOGIN_PASSWORD} exported");
    if login_script {
        return vec![
            "[consent]".to_owned(),
            "driver = \"browser\"".to_owned(),
            format!("fields = {{ \"Email or username\" = {LOGIN_USER:?} }}"),
            "fields_env = { Password = \"MCP_REFERENCE_PASSWORD\" }".to_owned(),
            "submit = [\"Next\", \"Approve\"]".to_owned(),
            password,
        ];
    }
    if !login_form && !proxy {
        return Vec::new();
    }
    let mut lines = vec!["[consent]".to_owned(), "driver = \"form\"".to_owned()];
    if login_form {
        lines.push(format!("fields = {{ username = {LOGIN_USER:?} }}"));
        lines.push("fields_env = { password = \"MCP_REFERENCE_PASSWORD\" }".to_owned());
    }
    lines.push("submit = \"approve\"".to_owned());
    if login_form {
        lines.push(password);
    }
    lines
}
