//! Staffing by Erlang C: how many agents an hour's contacts need to meet a service level
//! ("80 % answered within 20 s"), given how many arrive and how long each takes to handle.
//!
//! Erlang C models contacts arriving at random (Poisson) to `n` agents with a queue in front of
//! them: the traffic is `a = arrivals per second × handle time` erlangs, the chance a contact
//! waits is C(n, a), and the share answered within `t` is `1 − C(n, a) · e^(−(n − a)·t / aht)`.
//! C is computed from Erlang B's recursion, which stays finite for any number of agents.

/// The chance a contact has to wait, C(n, a), for `agents` agents and `traffic` erlangs; 1 when
/// the agents cannot keep up (`agents <= traffic`).
pub fn wait_probability(agents: u32, traffic: f64) -> f64 {
    if traffic <= 0.0 {
        return 0.0;
    }
    let n = f64::from(agents);
    if n <= traffic {
        return 1.0;
    }
    // Erlang B: B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)).
    let mut blocking = 1.0;
    for k in 1..=agents {
        blocking = traffic * blocking / (f64::from(k) + traffic * blocking);
    }
    n * blocking / (n - traffic * (1.0 - blocking))
}

/// The share of contacts answered within `answer_within_secs`, for `agents` agents, `traffic`
/// erlangs and an average handle time of `handle_secs`.
pub fn service_level(agents: u32, traffic: f64, answer_within_secs: f64, handle_secs: f64) -> f64 {
    if traffic <= 0.0 {
        return 1.0;
    }
    let n = f64::from(agents);
    if n <= traffic || handle_secs <= 0.0 {
        return 0.0;
    }
    let waits = wait_probability(agents, traffic);
    (1.0 - waits * (-(n - traffic) * answer_within_secs / handle_secs).exp()).clamp(0.0, 1.0)
}

/// What an hour's contacts need.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Staffing {
    /// Contacts arriving in the hour.
    pub arrivals: f64,
    /// The traffic in erlangs (arrivals × handle time / 3600).
    pub traffic: f64,
    /// The fewest agents that meet the target (0 when nothing arrives).
    pub agents: u32,
    /// The service level those agents give.
    pub service_level: f64,
    /// The chance a contact waits at all with those agents.
    pub wait_probability: f64,
}

/// The fewest agents that answer `target` (0 to 1) of an hour's `arrivals` within
/// `answer_within_secs`, each contact taking `handle_secs` on average.
pub fn staffing(arrivals: f64, handle_secs: f64, target: f64, answer_within_secs: f64) -> Staffing {
    let traffic = (arrivals.max(0.0) * handle_secs.max(0.0)) / 3600.0;
    if traffic <= 0.0 {
        return Staffing {
            arrivals,
            traffic: 0.0,
            agents: 0,
            service_level: 1.0,
            wait_probability: 0.0,
        };
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "the traffic of an hour's contacts, far below u32::MAX"
    )]
    let mut agents = (traffic.floor() as u32).saturating_add(1);
    let target = target.clamp(0.0, 0.999_999);
    // The service level rises with every agent past the traffic and tends to 1, so this ends.
    while service_level(agents, traffic, answer_within_secs, handle_secs) < target {
        agents = agents.saturating_add(1);
    }
    Staffing {
        arrivals,
        traffic,
        agents,
        service_level: service_level(agents, traffic, answer_within_secs, handle_secs),
        wait_probability: wait_probability(agents, traffic),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    /// C(n, a) from its closed form, a^n/n! · n/(n−a) over Σ_{k<n} a^k/k! + that.
    fn closed_form(n: u32, a: f64) -> f64 {
        let mut term = 1.0;
        let mut sum = 0.0;
        for k in 0..n {
            sum += term;
            term *= a / f64::from(k + 1);
        }
        let top = term * f64::from(n) / (f64::from(n) - a);
        top / (sum + top)
    }

    #[test]
    fn wait_probability_matches_published_values() {
        // 2 erlangs on 3 agents: C = 4/9 (the textbook's closed form worked by hand).
        assert!(close(wait_probability(3, 2.0), 4.0 / 9.0, 1e-12));
        // Call Centre Helper's worked example (100 calls in 30 min, 180 s handle time: 10
        // erlangs, target 80 % in 20 s): 11 agents C = 0.6821 and 39.0 %, 12 agents 0.4494 and
        // 64.0 %, 13 agents 0.2853 and 79.6 %, 14 agents 0.1741 and 88.8 %.
        for (agents, waits, level) in [
            (11, 0.6821, 0.390),
            (12, 0.4494, 0.640),
            (13, 0.2853, 0.796),
            (14, 0.1741, 0.888),
        ] {
            assert!(
                close(wait_probability(agents, 10.0), waits, 5e-5),
                "{agents}"
            );
            let got = service_level(agents, 10.0, 20.0, 180.0);
            assert!(close(got, level, 5e-4), "{agents}: {got}");
        }
        // Westbay's Erlang-C walk-through (360 calls in 30 min of 4 min each: 48 erlangs, 55
        // agents, 15 s target): waiting 23.9 %, service level 84.6 %.
        assert!(close(wait_probability(55, 48.0), 0.239, 5e-4));
        assert!(close(service_level(55, 48.0, 15.0, 240.0), 0.846, 5e-4));
    }

    #[test]
    fn staffing_finds_the_fewest_agents_for_the_target() {
        // 200 calls an hour of 180 s: 10 erlangs, 14 agents for 80 % in 20 s (13 give 79.6 %).
        let s = staffing(200.0, 180.0, 0.8, 20.0);
        assert!(close(s.traffic, 10.0, 1e-9));
        assert_eq!(s.agents, 14);
        assert!(s.service_level >= 0.8);
        // Nothing arrives: nobody is needed.
        assert_eq!(staffing(0.0, 180.0, 0.8, 20.0).agents, 0);
        // Too few agents: everyone waits, nobody is answered in time.
        assert!(close(wait_probability(10, 10.0), 1.0, 0.0));
        assert!(close(service_level(9, 10.0, 20.0, 180.0), 0.0, 0.0));
    }

    proptest! {
        #[test]
        fn the_recursion_agrees_with_the_closed_form_and_more_agents_never_hurt(
            traffic in 0.1f64..40.0,
            extra in 1u32..20,
        ) {
            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "small")]
            let agents = traffic.ceil() as u32 + extra;
            let waits = wait_probability(agents, traffic);
            prop_assert!((0.0..=1.0).contains(&waits));
            prop_assert!(close(waits, closed_form(agents, traffic), 1e-9));
            prop_assert!(wait_probability(agents + 1, traffic) <= waits + 1e-12);
            prop_assert!(
                service_level(agents + 1, traffic, 20.0, 180.0)
                    >= service_level(agents, traffic, 20.0, 180.0) - 1e-12
            );
            let s = staffing(traffic * 20.0, 180.0, 0.8, 20.0);
            prop_assert!(s.service_level >= 0.8);
            prop_assert!(s.agents == 0 || service_level(s.agents - 1, s.traffic, 20.0, 180.0) < 0.8);
        }
    }
}
