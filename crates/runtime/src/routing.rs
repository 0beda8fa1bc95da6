//! Which platform a contact goes to.
//!
//! Each wave of the plan has a [`WavePhase`], kept in the store as one run-state value
//! ([`ROUTING_KEY`]) that is written in the same transaction as the audit entry of the step
//! that changed it, so every `cutover serve` on the store (and every command) reads the same
//! routing. [`RoutingState::route`] is the one rule that turns phases into a [`Route`]:
//!
//! - a channel that no switched wave names stays on the old side;
//! - a channel some switched wave names goes to the new side for the share of customers of the
//!   last switched wave in plan order (waves add up, and their shares never shrink); which
//!   customers make up that share is fixed by a hash of the customer's address
//!   ([`customer_bucket`]), so a customer's contacts all go the same way (sticky);
//! - while a wave switches (forward or back), contacts on its channels, and on channels already
//!   moved, are held: accepted, kept, and routed when the switch ends;
//! - above all that, a channel switched to its backup ([`RoutingState::backups`], by
//!   `cutover channel backup` or an alert's `backup_channel`) sends every contact to the side
//!   its `backup` names, until it is switched back.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cutover_model::Side;
use cutover_plan::plan::model::Wave;
use cutover_store::{Store, StoreTx};
use serde::{Deserialize, Serialize};

use crate::error::RuntimeError;

/// The run-state key the routing state is kept under.
pub const ROUTING_KEY: &str = "routing";

/// Where a wave stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WavePhase {
    /// Not switched (never started, or rolled back): its channels go by earlier waves.
    #[default]
    Old,
    /// A switch, forward or back, is under way: its contacts are accepted and held.
    Holding,
    /// Switched: its share of customers goes to the new side.
    New,
    /// Switched and held where it is (`cutover wave pause`): routed as [`WavePhase::New`], and
    /// nothing moves it on by itself.
    Paused,
}

impl WavePhase {
    /// Whether the wave's channels and customers belong to the new side.
    pub fn is_switched(self) -> bool {
        matches!(self, WavePhase::New | WavePhase::Paused)
    }

    /// The name shown to people: `old`, `holding`, `new`, `paused`.
    pub fn as_str(self) -> &'static str {
        match self {
            WavePhase::Old => "old",
            WavePhase::Holding => "holding",
            WavePhase::New => "new",
            WavePhase::Paused => "paused",
        }
    }
}

/// One wave's routing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaveRouting {
    /// Where it stands.
    pub phase: WavePhase,
    /// When it got there.
    pub changed_at: DateTime<Utc>,
}

/// Where one contact goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Deliver it to this side.
    To(Side),
    /// Keep it: a switch is under way; route it when the switch ends.
    Hold,
}

/// The routing of every wave, as kept in the store.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RoutingState {
    /// Raised by one at every change: a reader that saw this generation has seen every change
    /// up to it.
    pub generation: u64,
    /// By wave name; a wave not here is [`WavePhase::Old`].
    pub waves: BTreeMap<String, WaveRouting>,
    /// The channels switched to their backup, by channel name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub backups: BTreeMap<String, ChannelBackup>,
}

/// A channel switched to its backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelBackup {
    /// The side all its contacts go to (the channel's `backup` in the plan when it switched).
    pub side: Side,
    /// Since when.
    pub since: DateTime<Utc>,
}

impl RoutingState {
    /// The state in the store (every wave old when none was written yet).
    pub async fn load(store: &dyn Store) -> Result<Self, RuntimeError> {
        match store.run_state(ROUTING_KEY).await? {
            None => Ok(RoutingState::default()),
            Some(value) => serde_json::from_value(value)
                .map_err(|e| RuntimeError::BadRoutingState(e.to_string())),
        }
    }

    /// Writes this state in `tx` (with the audit entry of the step that made it).
    pub async fn save_in(&self, tx: &mut dyn StoreTx) -> Result<(), RuntimeError> {
        let value =
            serde_json::to_value(self).map_err(|e| RuntimeError::BadRoutingState(e.to_string()))?;
        tx.put_run_state(ROUTING_KEY, &value).await?;
        Ok(())
    }

    /// A wave's phase.
    pub fn phase(&self, wave: &str) -> WavePhase {
        self.waves.get(wave).map(|w| w.phase).unwrap_or_default()
    }

    /// This state with one wave moved to `phase` and the generation raised.
    pub fn with_phase(&self, wave: &str, phase: WavePhase, at: DateTime<Utc>) -> RoutingState {
        let mut next = self.clone();
        next.generation += 1;
        next.waves.insert(
            wave.to_owned(),
            WaveRouting {
                phase,
                changed_at: at,
            },
        );
        next
    }

    /// This state with `channel` switched to its backup on `side` (`None`: switched back) and
    /// the generation raised.
    pub fn with_backup(
        &self,
        channel: &str,
        side: Option<Side>,
        at: DateTime<Utc>,
    ) -> RoutingState {
        let mut next = self.clone();
        next.generation += 1;
        match side {
            Some(side) => {
                next.backups
                    .insert(channel.to_owned(), ChannelBackup { side, since: at });
            }
            None => {
                next.backups.remove(channel);
            }
        }
        next
    }

    /// Where a contact from `customer` (an e-mail address, a phone number, a chat user id) on
    /// `channel` (a `[[channels]]` name) goes, given the plan's waves in order.
    pub fn route(&self, waves: &[Wave], channel: &str, customer: &str) -> Route {
        if let Some(backup) = self.backups.get(channel) {
            return Route::To(backup.side);
        }
        let names = |wave: &Wave| wave.channels.iter().any(|c| c == channel);
        let moved = waves
            .iter()
            .any(|w| self.phase(&w.name).is_switched() && names(w));
        let holding = waves
            .iter()
            .any(|w| self.phase(&w.name) == WavePhase::Holding && (names(w) || moved));
        if holding {
            return Route::Hold;
        }
        if !moved {
            return Route::To(Side::Old);
        }
        let share = waves
            .iter()
            .filter(|w| self.phase(&w.name).is_switched())
            .map(|w| w.customers.get())
            .next_back()
            .unwrap_or(0.0);
        if customer_bucket(customer) < share {
            Route::To(Side::New)
        } else {
            Route::To(Side::Old)
        }
    }
}

/// A customer's place in `[0, 100)`: the same for every contact of theirs (case and surrounding
/// space do not count), spread evenly over customers. A wave with share `s` % routes the
/// customers whose bucket is below `s` to the new side, so raising the share only adds customers.
pub fn customer_bucket(customer: &str) -> f64 {
    let key = customer.trim().to_lowercase();
    let hash = blake3::hash(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    // 53 bits keep the division exact in an f64.
    let n = u64::from_le_bytes(first) >> 11;
    (n as f64) / ((1u64 << 53) as f64) * 100.0
}

/// The wave a person named: by its `name`, or by its number in the plan (1 for the first).
pub fn find_wave<'a>(waves: &'a [Wave], named: &str) -> Result<(usize, &'a Wave), RuntimeError> {
    if let Some(found) = waves.iter().enumerate().find(|(_, w)| w.name == named) {
        return Ok(found);
    }
    match named.parse::<usize>() {
        Ok(n) if (1..=waves.len()).contains(&n) => Ok((n - 1, &waves[n - 1])),
        _ => Err(RuntimeError::NoSuchWave(named.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_sticky_and_spread() {
        assert_eq!(
            customer_bucket("Ann@Example.com "),
            customer_bucket("ann@example.com")
        );
        let below_half = (0..2000)
            .filter(|i| customer_bucket(&format!("c{i}@example.com")) < 50.0)
            .count();
        assert!(
            (900..1100).contains(&below_half),
            "{below_half} of 2000 below 50"
        );
    }
}
