//! `cutover verify --html`: the report as a page a migration lead can hand to a customer.
//! Summary first (the verdict, the totals, the counts per kind), then what differs grouped by
//! reason with counts, then every record with links to its page on both platforms. One file,
//! styled inline, readable on screen and on paper.

use std::fmt::Write as _;

use cutover_engine::text::count;
use cutover_engine::verify::{KindReport, Pages, VerifyReport};

pub(super) const STYLE: &str = "\
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2933;\
max-width:70rem;margin:2rem auto;padding:0 1.5rem}\
h1{font-size:1.7rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2.2rem;\
border-bottom:2px solid #e4e7eb;padding-bottom:.3rem}h3{font-size:1.05rem;margin-top:1.4rem}\
.meta{color:#616e7c;margin-top:0}\
.verdict{padding:.8rem 1.1rem;border-radius:6px;font-weight:600;font-size:1.1rem}\
.clean{background:#e3f9e5;color:#0e5e1a;border:1px solid #8ede99}\
.differ{background:#ffe3e3;color:#8a1c1c;border:1px solid #f29b9b}\
.totals{display:flex;flex-wrap:wrap;gap:.8rem;margin:1.2rem 0}\
.total{border:1px solid #e4e7eb;border-radius:6px;padding:.5rem .9rem;min-width:7rem}\
.total b{display:block;font-size:1.4rem}\
table{border-collapse:collapse;width:100%;margin:.6rem 0}\
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #e4e7eb;vertical-align:top}\
th{background:#f5f7fa;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\
code{font-size:.9em;background:#f5f7fa;padding:0 .2em;border-radius:3px;word-break:break-all}\
.note{color:#616e7c}a{color:#0b5cad}\
@media print{body{margin:0;max-width:none;font-size:11pt}h2{break-after:avoid}\
tr{break-inside:avoid}a{color:inherit;text-decoration:none}\
a[href]::after{content:' (' attr(href) ')';font-size:.8em;color:#616e7c}}";

/// The page, `generated` naming when it was made.
pub(super) fn page(report: &VerifyReport, generated: &str) -> String {
    let mut page = String::new();
    let title = match (report.old_platform, report.new_platform) {
        (Some(old), Some(new)) => format!("Verification of the move from {old} to {new}"),
        _ => "Verification of the move".to_owned(),
    };
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n\
         <p class=\"meta\">Made by <code>cutover verify</code> on {generated}: every record \
         read on both platforms and compared through the links cutover keeps between them.</p>\n",
        title = escape(&title),
        generated = escape(generated),
    );
    summary(&mut page, report);
    groups(&mut page, report);
    records(&mut page, report);
    page.push_str(
        "<h2>How to read this report</h2>\n<ul class=\"note\">\
         <li><b>Missing</b>: on the old platform, with no copy on the new one; the reason says \
         why (its dead letter, or that no copy was made yet).</li>\
         <li><b>Extra</b>: on the new platform, written by cutover, but not linked to an old \
         record: a duplicate.</li>\
         <li><b>Different</b>: on both, with fields that differ (old value, then new).</li>\
         <li><b>Not comparable</b>: what the new platform cannot hold as the old one has it, \
         named before the move by <code>cutover inventory</code>; such records count as \
         matched.</li>\
         <li><b>Only on the new side</b>: records the new account held before the move, or \
         that people made there since. Not a difference.</li></ul>\n</body></html>\n",
    );
    page
}

fn summary(page: &mut String, report: &VerifyReport) {
    let (missing, extra, different) = report.n_differences();
    let class = if report.is_clean() { "clean" } else { "differ" };
    let _ = write!(
        page,
        "<p class=\"verdict {class}\">{}</p>\n<div class=\"totals\">",
        escape(&report.verdict())
    );
    let sum = |f: fn(&KindReport) -> u64| report.kinds.values().map(f).sum::<u64>();
    let not_comparable = sum(|k| k.not_comparable.values().sum());
    for (label, n) in [
        ("records on the old side", sum(|k| k.old)),
        ("matched", sum(|k| k.matched)),
        ("missing", missing as u64),
        ("extra", extra as u64),
        ("different", different as u64),
        ("not comparable", not_comparable),
    ] {
        let _ = write!(
            page,
            "<div class=\"total\"><b>{}</b>{label}</div>",
            count(n)
        );
    }
    page.push_str("</div>\n<h2>Per kind of record</h2>\n<table><tr><th>kind</th>");
    let columns = [
        "old",
        "new",
        "matched",
        "missing",
        "extra",
        "different",
        "dropped",
        "unreadable",
        "only new",
    ];
    for column in columns {
        let _ = write!(page, "<th class=\"n\">{column}</th>");
    }
    page.push_str("</tr>\n");
    for (kind, k) in &report.kinds {
        let n = |n: usize| n as u64;
        let cells = [
            k.old,
            k.new,
            k.matched,
            n(k.missing.len()),
            n(k.extra.len()),
            n(k.different.len()),
            k.dropped,
            k.unreadable,
            n(k.only_new.len()),
        ];
        let _ = write!(page, "<tr><td>{kind}</td>");
        for cell in cells {
            let _ = write!(page, "<td class=\"n\">{}</td>", count(cell));
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</table>\n");
}

/// What differs (and what is levelled), counted by reason per kind.
fn groups(page: &mut String, report: &VerifyReport) {
    for (title, rows) in report.grouped() {
        let _ = writeln!(
            page,
            "<h2>{}</h2>\n<table><tr><th>kind</th><th class=\"n\">records</th>\
             <th>reason</th></tr>",
            escape(title)
        );
        for (kind, n, reason) in rows {
            let _ = writeln!(
                page,
                "<tr><td>{kind}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                count(n),
                escape(&reason)
            );
        }
        page.push_str("</table>\n");
    }
}

/// Every record that differs, with its pages on both platforms.
fn records(page: &mut String, report: &VerifyReport) {
    if report.is_clean() {
        return;
    }
    page.push_str("<h2>The records</h2>\n");
    for (kind, k) in &report.kinds {
        if k.is_clean() {
            continue;
        }
        let _ = write!(
            page,
            "<h3>{kind}</h3>\n<table><tr><th>finding</th><th>old id</th><th>new id</th>\
             <th>why</th><th>pages</th></tr>\n"
        );
        for m in &k.missing {
            let new_id = m.new_id.as_ref().map(|id| id.as_str()).unwrap_or("");
            row(
                page,
                "missing",
                m.old_id.as_str(),
                new_id,
                &escape(&m.reason),
                &m.pages,
            );
        }
        for id in &k.extra {
            let reason = k.extra_reasons.get(id).map_or("not linked", String::as_str);
            let pages = Pages {
                old: None,
                new: k.extra_pages.get(id).cloned(),
            };
            row(page, "extra", "", id.as_str(), &escape(reason), &pages);
        }
        for d in &k.different {
            let mut why = String::new();
            for f in &d.fields {
                let _ = write!(
                    why,
                    "<code>{}</code>: <code>{}</code> → <code>{}</code><br>",
                    escape(&f.pointer),
                    escape(&f.old.to_string()),
                    escape(&f.new.to_string())
                );
            }
            row(
                page,
                "different",
                d.old_id.as_str(),
                d.new_id.as_str(),
                &why,
                &d.pages,
            );
        }
        page.push_str("</table>\n");
    }
}

fn row(page: &mut String, finding: &str, old_id: &str, new_id: &str, why: &str, pages: &Pages) {
    let mut links = Vec::new();
    for (side, url) in [("old", &pages.old), ("new", &pages.new)] {
        if let Some(url) = url {
            links.push(format!("<a href=\"{}\">{side}</a>", escape(url)));
        }
    }
    let _ = writeln!(
        page,
        "<tr><td>{finding}</td><td>{}</td><td>{}</td><td>{why}</td><td>{}</td></tr>",
        escape(old_id),
        escape(new_id),
        links.join(" · ")
    );
}

pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
