//! Connectors for the plan's two platforms, with credentials from the variables the plan names.
//! The caller passes how to read a variable (the binary: the process environment), so nothing
//! deep in a library reads the environment, and no secret is ever logged or put in an error.

use std::sync::Arc;

use cutover_connect::{
    Connector, FreshdeskConfig, FreshdeskConnector, ZendeskConfig, ZendeskConnector,
};
use cutover_control::Plan;
use cutover_model::{PlatformKind, Side};
use secrecy::SecretString;

use crate::error::EngineError;

/// The connector of one side of the plan. `var` reads an environment variable by name.
pub fn connector(
    plan: &Plan,
    side: Side,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Arc<dyn Connector>, EngineError> {
    let platform = plan.platform(side);
    let read = |name: &str| {
        var(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| EngineError::Credentials {
                side,
                variable: name.to_owned(),
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
                        side,
                        variable: "email_env (not named in the plan)".to_owned(),
                    })?;
            let email = read(email_env.as_str())?;
            let mut config = ZendeskConfig::with_api_token(side, url, &email, token);
            config.budget.requests_per_minute = platform.requests_per_minute;
            config.budget.share = platform.share.get();
            Arc::new(ZendeskConnector::new(config)?)
        }
        PlatformKind::Freshdesk => {
            let mut config = FreshdeskConfig::with_api_key(side, url, token);
            config.budget.requests_per_minute = platform.requests_per_minute;
            config.budget.share = platform.share.get();
            Arc::new(FreshdeskConnector::new(config)?)
        }
        other => return Err(EngineError::Unsupported(other)),
    };
    Ok(connector)
}
