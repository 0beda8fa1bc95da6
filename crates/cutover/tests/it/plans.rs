//! Plans as a user writes them, for every test that moves between emulators: `cutover init`
//! reads both accounts, `cutover inventory` lists the values the plan leaves open, each is
//! decided as its hint says (the choice a rehearsal takes, as `cutover demo` does), and `cutover
//! plan check` accepts the result. No test builds a plan another way.

use std::future::Future;
use std::path::Path;

use cutover_plan::plan::discovered::decide_as_rehearsed;
use cutover_plan::plan::open::OpenValue;
use serde_json::Value;

/// The values `cutover inventory --json` lists as open.
pub(crate) fn open_values(inventory: &Value) -> Vec<OpenValue> {
    serde_json::from_value(inventory["unmapped"].clone()).unwrap()
}

/// Decides every open value the inventory lists, as its hint says, in the plan at `plan`.
/// Returns the values decided.
pub(crate) fn follow_hints(plan: &Path, inventory: &Value) -> Vec<OpenValue> {
    let open = open_values(inventory);
    let text = std::fs::read_to_string(plan).unwrap();
    std::fs::write(plan, decide_as_rehearsed(&text, &open)).unwrap();
    open
}

/// `cutover init` between the emulated platforms `(from, to)` with these `extra` flags, then
/// every open value decided as the inventory's hints say, then `cutover plan check`. `cutover`
/// runs the real binary in the plan's folder with the emulators' credentials.
pub(crate) async fn init_and_decide<F, Fut>(
    cutover: F,
    plan: &Path,
    urls: (&str, &str),
    (from, to): (&str, &str),
    extra: &[&str],
) where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = (i32, String, String)>,
{
    let mut args: Vec<String> = [
        "init",
        "--from",
        from,
        "--to",
        to,
        "--old-url",
        urls.0,
        "--new-url",
        urls.1,
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let (code, stdout, stderr) = cutover(args).await;
    assert_eq!(code, 0, "init:\n{stdout}\n{stderr}");
    let (code, stdout, stderr) = cutover(vec!["inventory".into(), "--json".into()]).await;
    assert_eq!(code, 0, "inventory:\n{stdout}\n{stderr}");
    let inventory: Value = serde_json::from_str(&stdout).unwrap();
    follow_hints(plan, &inventory);
    let (code, stdout, stderr) = cutover(vec!["plan".into(), "check".into()]).await;
    assert_eq!(code, 0, "the plan should check clean:\n{stdout}\n{stderr}");
    assert!(!stdout.contains("no mapping yet"), "{stdout}");
}
