//! Connectors for the plan's two platforms, with credentials from the variables the plan names.
//! The caller passes how to read a variable (the binary: the process environment), so nothing
//! deep in a library reads the environment, and no secret is ever logged or put in an error.

use std::sync::Arc;

use cutover_connect::{
    Connector, FreshdeskConfig, FreshdeskConnector, ZendeskConfig, ZendeskConnector,
};
use cutover_model::{PlatformKind, Side};
use cutover_plan::Plan;
use secrecy::SecretString;

use crate::error::EngineError;

/// The highest request rate a Zendesk account has (the High Volume add-on), a minute.
const ZENDESK_TOP_RPM: u32 = 2500;

/// The highest request rate a Freshdesk plan has (Enterprise), a minute.
const FRESHDESK_TOP_RPM: u32 = 700;

/// The variables the plan names for `sides`' credentials that `var` does not give (or gives
/// empty), each with its side, in order: every one at once, so a person sets them all in one go.
pub fn missing_credentials(
    plan: &Plan,
    sides: &[Side],
    var: impl Fn(&str) -> Option<String>,
) -> Vec<(Side, String)> {
    let mut missing = Vec::new();
    for &side in sides {
        let platform = plan.platform(side);
        if platform.platform == PlatformKind::Zendesk {
            match &platform.email_env {
                Some(name) => missing.push((side, name.as_str().to_owned())),
                None => missing.push((side, "email_env (not named in the plan)".to_owned())),
            }
        }
        missing.push((side, platform.token_env.as_str().to_owned()));
    }
    missing.retain(|(_, name)| {
        name.starts_with("email_env ") || var(name).is_none_or(|v| v.is_empty())
    });
    missing
}

/// The old side's connector and the new side's.
pub type Pair = (Arc<dyn Connector>, Arc<dyn Connector>);

/// The connectors of both sides, after checking that every credential of both is set (all
/// missing ones named in one error).
pub fn connectors(plan: &Plan, var: impl Fn(&str) -> Option<String>) -> Result<Pair, EngineError> {
    let missing = missing_credentials(plan, &Side::BOTH, &var);
    if !missing.is_empty() {
        return Err(EngineError::Credentials { missing });
    }
    Ok((
        connector(plan, Side::Old, &var)?,
        connector(plan, Side::New, &var)?,
    ))
}

/// The connector of one side of the plan. `var` reads an environment variable by name.
pub fn connector(
    plan: &Plan,
    side: Side,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Arc<dyn Connector>, EngineError> {
    let platform = plan.platform(side);
    let missing = missing_credentials(plan, &[side], &var);
    if !missing.is_empty() {
        return Err(EngineError::Credentials { missing });
    }
    let read = |name: &str| {
        var(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| EngineError::Credentials {
                missing: vec![(side, name.to_owned())],
            })
    };
    let token = SecretString::from(read(platform.token_env.as_str())?);
    let url = platform.url.as_url().clone();
    let connector: Arc<dyn Connector> = match platform.platform {
        PlatformKind::Zendesk => {
            let email_env =
                platform
                    .email_env
                    .as_ref()
                    .ok_or_else(|| EngineError::Credentials {
                        missing: vec![(side, "email_env (not named in the plan)".to_owned())],
                    })?;
            let email = read(email_env.as_str())?;
            let mut config = ZendeskConfig::with_api_token(side, url, &email, token);
            // `keep_original.note_header = true`: imported comments carry the header line too.
            config.headers_on_imports = plan
                .copy
                .keep_original
                .as_ref()
                .is_some_and(|k| k.note_header);
            // The triggers are read again once a poll interval before a public reply: a trigger
            // added since that would e-mail customers turns bridged replies back to private.
            config.quiet_recheck = plan.sync.poll_every.get();
            let rpm = platform.requests_per_minute;
            config.budget.requests_per_minute = rpm;
            config.budget.share = platform.share.get();
            if rpm > ZENDESK_TOP_RPM {
                // More than any Zendesk account has: an emulator with its limits raised, whose
                // endpoint limits (the exports' 10 a minute) are raised with them.
                for lane in config.budget.lanes.values_mut() {
                    *lane = rpm;
                }
                config.budget.burst = 64;
            }
            Arc::new(ZendeskConnector::new(config)?)
        }
        PlatformKind::Freshdesk => {
            let mut config = FreshdeskConfig::with_api_key(side, url, token);
            let rpm = platform.requests_per_minute;
            config.budget.requests_per_minute = rpm;
            config.budget.share = platform.share.get();
            if rpm > FRESHDESK_TOP_RPM {
                // More than any Freshdesk plan has: an emulator with its limits raised, whose
                // endpoint limits (ticket creations, 80 a minute) are raised with them.
                for lane in config.budget.lanes.values_mut() {
                    *lane = rpm;
                }
                config.budget.burst = 64;
            }
            // The plan names the field that receives the old id (`[copy] keep_original`): a
            // field of the new side. The old side, written to by the bridge's other direction,
            // keeps its copies' origin in cutover's own fields (a Zendesk target's field title,
            // say, is no Freshdesk field name).
            if let Some(field) = plan
                .copy
                .keep_original
                .as_ref()
                .and_then(|k| k.id_field.as_ref())
                .filter(|_| side == Side::New)
            {
                config.origin_fields.id = field.clone();
            }
            Arc::new(FreshdeskConnector::new(config)?)
        }
        other => return Err(EngineError::Unsupported(other)),
    };
    Ok(connector)
}
