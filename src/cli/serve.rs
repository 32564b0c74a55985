//! `serve`: its arguments, the lists of defects and variants, and the listening banner.

use super::{ServerArgs, block_on, error};
use clap::Args;
use gws_conformance::command;
use gws_conformance::server::{Defect, Variant};
use gws_conformance::spec::GwsVersion;
use std::process::ExitCode;

#[derive(Args)]
pub struct ServeArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8090)]
    port: u16,
    /// Address to bind; loopback unless told otherwise.
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// List the injectable defects and exit.
    #[arg(long)]
    list_defects: bool,
    /// List the legal variants and exit.
    #[arg(long)]
    list_variants: bool,
    /// Create agents agent1..agentN with passwords agent1-pass..agentN-pass (instead of the
    /// two built-in ones).
    #[arg(long = "agents", value_name = "N", conflicts_with = "agents")]
    agent_count: Option<usize>,
    /// Emit the notification shapes of this GWS release (8.5.1: voice participants as strings).
    #[arg(long, value_name = "VERSION", default_value = "8.5.2")]
    gws_version: GwsVersion,
    /// Serve no fixture contract: interactions come only from the documented Dial and Create
    /// operations, as on a stock GWS (use a target with `fixtures.native`).
    #[arg(long)]
    no_fixtures: bool,
    /// Customers waiting at start, offered to an agent Ready on their channel that has none of
    /// that media open, the next when one ends (e.g. `sms=2,facebook-pm=2`).
    #[arg(long, value_name = "MEDIA=N", value_delimiter = ',', value_parser = parse_inbound)]
    inbound: Vec<(String, usize)>,
    #[command(flatten)]
    server: ServerArgs,
}

pub fn serve(args: ServeArgs) -> ExitCode {
    if args.list_variants {
        for v in Variant::ALL {
            outln!("{:<28} {}", v.name(), v.description());
        }
        return ExitCode::SUCCESS;
    }
    if args.list_defects {
        for d in Defect::ALL {
            outln!("{:<28} {}", d.name(), d.description());
        }
        return ExitCode::SUCCESS;
    }
    let mut config = args.server.to_config();
    config.bind = std::net::SocketAddr::new(args.bind, args.port);
    if let Some(n) = args.agent_count {
        if n == 0 {
            return error("--agents must be at least 1");
        }
        config.agents = gws_conformance::server::state::ServerState::numbered_agents(n);
    }
    config.gws_version = args.gws_version;
    config.fixtures = !args.no_fixtures;
    config.inbound = args.inbound.clone();
    let agents: Vec<String> = config.agents.iter().map(|(u, _)| u.clone()).collect();
    let fixtures = config.fixtures;
    let announce = move |server: &gws_conformance::server::RunningServer| {
        // A server keeps serving when whoever started it stops reading its stdout.
        use std::io::Write;
        let fixtures = if fixtures {
            format!("fixtures at {}/conformance/v1", server.base_url)
        } else {
            "no fixture contract (native provisioning only)".to_string()
        };
        let _ = write!(
            std::io::stdout().lock(),
            "gws-conformance reference server listening on {}\nagents: {}; {fixtures}\n",
            server.base_url,
            agents.join(", "),
        );
    };
    match block_on(command::serve::serve(config, announce)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => error(e),
        Err(code) => code,
    }
}

/// Parses `sms=2`: a routed media and how many of its customers wait.
fn parse_inbound(text: &str) -> Result<(String, usize), String> {
    let (media, count) = text
        .split_once('=')
        .ok_or_else(|| format!("expects MEDIA=N, got `{text}`"))?;
    if !["sms", "facebook-pm", "chat"].contains(&media) {
        return Err(format!(
            "`{media}` is not routed in: use sms, facebook-pm or chat"
        ));
    }
    let count = count
        .parse()
        .map_err(|_| format!("`{count}` is not a number of waiting customers"))?;
    Ok((media.to_string(), count))
}
