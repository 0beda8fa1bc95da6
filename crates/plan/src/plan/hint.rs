//! "Did you mean …?": the closest of the accepted names to a misspelt one.

/// The candidate closest to `given` by edit distance, if it is close enough to be a likely typo
/// (at most a third of the longer name). Case is ignored.
pub(crate) fn closest<'c>(
    given: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let given_lower = given.to_lowercase();
    candidates
        .into_iter()
        .map(|candidate| (distance(&given_lower, &candidate.to_lowercase()), candidate))
        .filter(|(dist, candidate)| {
            let longest = given.chars().count().max(candidate.chars().count());
            *dist <= (longest / 3).max(1)
        })
        .min_by_key(|(dist, _)| *dist)
        .map(|(_, candidate)| candidate)
}

/// ` (did you mean "x"?)`, or nothing when no candidate is close.
pub(crate) fn did_you_mean<'c>(
    given: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> String {
    closest(given, candidates)
        .map(|c| format!(" (did you mean \"{c}\"?)"))
        .unwrap_or_default()
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (a_idx, a_char) in a.chars().enumerate() {
        let mut current = vec![a_idx + 1; b.len() + 1];
        for (b_idx, b_char) in b.iter().enumerate() {
            let substitution = previous[b_idx] + usize::from(a_char != *b_char);
            current[b_idx + 1] = substitution
                .min(previous[b_idx + 1] + 1)
                .min(current[b_idx] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// `a, b or c`, each quoted.
pub(crate) fn quoted_list<'c>(names: impl IntoIterator<Item = &'c str>) -> String {
    let quoted: Vec<String> = names.into_iter().map(|n| format!("\"{n}\"")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }

    #[test]
    fn suggests_only_close_names() {
        let names = ["zendesk", "freshdesk", "zammad"];
        assert_eq!(closest("zendsk", names), Some("zendesk"));
        assert_eq!(closest("Freshdesk", names), Some("freshdesk"));
        assert_eq!(closest("jira", names), None);
        assert_eq!(
            did_you_mean("verison", ["version", "name"]),
            " (did you mean \"version\"?)"
        );
    }

    #[test]
    fn lists_read_as_english() {
        assert_eq!(quoted_list(["a"]), "\"a\"");
        assert_eq!(quoted_list(["a", "b", "c"]), "\"a\", \"b\" or \"c\"");
    }
}
