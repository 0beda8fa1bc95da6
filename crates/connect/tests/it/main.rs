//! The connectors against the emulators over real HTTP: the bridge's hooks (setup, delivery,
//! teardown), deliveries checked, conditional updates and deletes.

mod conditional;
mod freshdesk_hooks;
mod support;
mod zendesk_hooks;
