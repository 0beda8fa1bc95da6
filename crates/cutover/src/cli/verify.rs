//! `cutover verify`: prove every record on both sides.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use cutover_engine::{Mapping, VerifyReport};
use cutover_model::Side;

use super::backfill::Setup;
use crate::context::Context;
use crate::exit::Outcome;

/// Options of `cutover verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Print the whole report as JSON on standard output.
    #[arg(long)]
    pub json: bool,
    /// Also write the report as an HTML page to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Runs `cutover verify`.
pub(crate) async fn run(ctx: &Context, args: VerifyArgs) -> anyhow::Result<Outcome> {
    let setup = Setup::open(ctx).await?;
    let (old, new) = (setup.connector(Side::Old)?, setup.connector(Side::New)?);
    let mapping = Mapping::from_plan(&setup.plan.mapping);
    let report = cutover_engine::verify(
        setup.store.as_ref(),
        old.as_ref(),
        new.as_ref(),
        mapping,
        &setup.plan.copy.kinds,
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.summary());
    }
    if let Some(path) = &args.html {
        std::fs::write(path, html(&report))
            .with_context(|| format!("write the HTML report to {}", path.display()))?;
    }
    Ok(if report.is_clean() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// The report as a self-contained HTML page.
fn html(report: &VerifyReport) -> String {
    let mut page = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>cutover verify</title>\
         <style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left}</style>\
         </head><body><h1>cutover verify</h1><table><tr><th>kind</th><th>old</th><th>new</th>\
         <th>matched</th><th>missing</th><th>extra</th><th>different</th>\
         <th>only on the new side</th></tr>",
    );
    for (kind, k) in &report.kinds {
        let _ = write!(
            page,
            "<tr><td>{kind}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            k.old,
            k.new,
            k.matched,
            k.missing.len(),
            k.extra.len(),
            k.different.len(),
            k.only_new.len()
        );
    }
    page.push_str("</table><h2>Differences</h2><ul>");
    for (kind, k) in &report.kinds {
        for m in &k.missing {
            let _ = write!(
                page,
                "<li>{kind} {} missing: {}</li>",
                escape(m.old_id.as_str()),
                escape(&m.reason)
            );
        }
        for id in &k.extra {
            let reason = k.extra_reasons.get(id).map_or("not linked", String::as_str);
            let _ = write!(
                page,
                "<li>{kind} {} extra on the new side: {}</li>",
                escape(id.as_str()),
                escape(reason)
            );
        }
        for d in &k.different {
            for f in &d.fields {
                let _ = write!(
                    page,
                    "<li>{kind} {} / {}: <code>{}</code> old <code>{}</code> new <code>{}</code></li>",
                    escape(d.old_id.as_str()),
                    escape(d.new_id.as_str()),
                    escape(&f.pointer),
                    escape(&f.old.to_string()),
                    escape(&f.new.to_string())
                );
            }
        }
    }
    page.push_str(
        "</ul><p>Records only on the new side carry no link and no cutover mark: the new \
         account's own, or created there since. They are not a difference.</p></body></html>\n",
    );
    page
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
