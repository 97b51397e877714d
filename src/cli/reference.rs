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
                    eprintln!("  [consent]");
                    eprintln!("  driver = \"form\"");
                    eprintln!("  submit = \"approve\"");
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
