//! `cutover token`: the bearer tokens of the control-plane API (`/api/v1/` on `cutover serve`).

use clap::{Args, Subcommand};
use cutover_engine::text::Table;
use cutover_store::{ApiRole, NewApiToken, NewAuditEntry, TokenHash};
use serde_json::json;

use crate::context::Context;
use crate::exit::{Class, Outcome, fail};

/// Make, list and revoke API tokens.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it, once: it is not kept, only its SHA-256 hash is.
    ///
    /// The token goes in each request's `Authorization: Bearer TOKEN` header to the
    /// control-plane API of `cutover serve` (`/api/v1/…`; the routes and the role each needs are
    /// in `GET /api/v1/openapi.json`). Roles are ordered: a viewer reads (waves, sync status,
    /// conflicts, dead letters), an operator also acts (retries a dead letter), an admin may do
    /// everything. One live token per name; making it is recorded in the audit log. Lost tokens
    /// are not recovered: revoke and make another.
    ///
    /// Example: cutover token create --role viewer --name grafana
    Create(CreateArgs),
    /// List the tokens: name, role, when made, when last used, whether revoked (never a token).
    List(ListArgs),
    /// Revoke the live token of a name: from the next request on, it gets 401.
    ///
    /// Example: cutover token revoke grafana
    Revoke(RevokeArgs),
}

/// `cutover token create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// What the token may do: viewer (reads), operator (reads and acts), admin (everything).
    #[arg(long, value_name = "ROLE", value_parser = parse_role)]
    pub role: ApiRole,
    /// A name people know the token by (who or what holds it), unique among live tokens.
    #[arg(long, value_name = "NAME")]
    pub name: String,
}

/// `cutover token list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `cutover token revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The token's name, as `list` shows it.
    pub name: String,
}

fn parse_role(text: &str) -> Result<ApiRole, String> {
    text.parse()
        .map_err(|e: cutover_store::BadRole| e.to_string())
}

/// What a token starts with, so a leaked one is recognised by secret scanners and people.
const PREFIX: &str = "cut_";

/// A new token: the prefix and 256 random bits from the operating system's generator, in hex.
fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    let mut token = String::with_capacity(PREFIX.len() + 64);
    token.push_str(PREFIX);
    for b in bytes {
        token.push_str(&format!("{b:02x}"));
    }
    token
}

/// Who runs the command, for the audit log: the login name, or `cutover`.
pub(super) fn actor() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "cutover".to_owned())
}

/// Runs a `token` subcommand.
pub(crate) async fn run(ctx: &Context, command: TokenCommand) -> anyhow::Result<Outcome> {
    let store = ctx.open_store().await?;
    match command {
        TokenCommand::Create(args) => {
            let name = args.name.trim().to_owned();
            if name.is_empty() || name.chars().any(char::is_control) {
                return Err(fail(
                    Class::Config,
                    "create token: the name must be printable text, e.g. `cutover token create --role \
                     viewer --name grafana`",
                ));
            }
            let token = new_token();
            let new = NewApiToken {
                name: name.clone(),
                role: args.role,
                hash: TokenHash::of(&token),
            };
            match store.create_api_token(&new).await {
                Ok(_) => {}
                Err(e) if e.is_unique_violation() => {
                    return Err(fail(
                        Class::Config,
                        format!(
                            "create token {name:?}: a live token has that name (revoke it first: cutover token revoke {name})"
                        ),
                    ));
                }
                Err(e) => return Err(e.into()),
            }
            store
                .append_audit(&NewAuditEntry::new(
                    actor(),
                    "token.create",
                    json!({ "name": name, "role": args.role.as_str() }),
                ))
                .await?;
            eprintln!(
                "Token {name:?} ({} role) made. It is shown this once; only its hash is kept:",
                args.role
            );
            println!("{token}");
        }
        TokenCommand::List(args) => {
            let tokens = store.api_tokens().await?;
            if args.json {
                for t in &tokens {
                    println!("{}", cutover_server::api::token_json(t));
                }
            } else if tokens.is_empty() {
                println!("No tokens (make one: cutover token create --role viewer --name NAME).");
            } else {
                let mut table = Table::new(
                    &["name", "role", "created", "last used", "revoked"],
                    &[false, false, false, false, false],
                );
                let when = |t: Option<chrono::DateTime<chrono::Utc>>, none: &str| {
                    t.map_or_else(
                        || none.to_owned(),
                        |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
                    )
                };
                for t in &tokens {
                    table.row(vec![
                        t.name.clone(),
                        t.role.to_string(),
                        when(Some(t.created_at), ""),
                        when(t.last_used_at, "never"),
                        when(t.revoked_at, "-"),
                    ]);
                }
                print!("{}", table.render(""));
            }
        }
        TokenCommand::Revoke(args) => {
            if !store.revoke_api_token(&args.name).await? {
                return Err(fail(
                    Class::Config,
                    format!(
                        "revoke token {:?}: there is no live token of that name",
                        args.name
                    ),
                ));
            }
            store
                .append_audit(&NewAuditEntry::new(
                    actor(),
                    "token.revoke",
                    json!({ "name": args.name }),
                ))
                .await?;
            println!("Token {:?} revoked.", args.name);
        }
    }
    Ok(Outcome::Clean)
}
