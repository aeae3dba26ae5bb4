//! `paybridge`: the command-line face of the SDK. Every gateway operation, the
//! local sandbox, and a demo of a merchant's whole life against it.
//!
//! [`args`] is what clap reads, [`commands`] what each command does, and
//! [`output`] how results, errors and exit codes reach the user.

mod args;
mod commands;
mod ledger;
mod output;
mod serve;
mod webhooks;

use std::process::ExitCode;

use clap::Parser;
use paybridge::Error;

use crate::args::{Cli, Command};
use crate::output::exit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(match cli.command {
        Command::Sandbox { .. } | Command::Serve { .. } => "info",
        Command::Demo => "error",
        _ => "warn",
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::TRANSPORT);
        }
    };
    let output = cli.output;
    let failed = |err: Error| {
        output.print_error(&err);
        ExitCode::from(exit::code(&err))
    };
    match &cli.command {
        Command::Demo => match runtime.block_on(paybridge_cli::demo::run()) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(exit::DEMO_FAILED),
            Err(err) => failed(err),
        },
        Command::Sandbox {
            listen,
            callback_url,
            profile,
            webhook_secrets,
        } => match runtime.block_on(commands::sandbox(
            cli.config.as_ref(),
            *listen,
            callback_url.as_deref(),
            *profile,
            webhook_secrets,
        )) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => failed(err),
        },
        Command::Reconcile(args) => match runtime.block_on(commands::reconcile(&cli, args)) {
            Ok(code) => ExitCode::from(code),
            Err(err) => failed(err),
        },
        Command::Ledger(command) => match runtime.block_on(ledger::run(&cli, command)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => failed(err),
        },
        Command::Serve { listen, hash_key } => {
            match runtime.block_on(serve::run(&cli, listen.as_deref(), hash_key.as_deref())) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => failed(err),
            }
        }
        Command::Webhooks(command) => match runtime.block_on(webhooks::run(&cli, command)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => failed(err),
        },
        _ => match runtime.block_on(commands::run(cli)) {
            Ok(value) => {
                output.print(&value);
                ExitCode::SUCCESS
            }
            Err(err) => failed(err),
        },
    }
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PAYBRIDGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
