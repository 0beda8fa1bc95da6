//! `cutover report`'s page, drawn from the report's JSON so the two never disagree: the KPIs
//! against their baseline, tickets per hour or day (inline SVG), alerts, actions and decisions,
//! conflicts and dead letters, and when to switch (a heatmap per channel, the recommended
//! windows, staffing per hour). One file, styled as verify's report, no script, nothing fetched.

use std::fmt::Write as _;

use serde_json::Value;

use super::verify_html::{STYLE, escape};

const EXTRA_STYLE: &str = "svg{display:block;margin:.6rem 0;max-width:100%}\
.inconclusive{color:#8d5b00}.outside_spread{color:#8a1c1c;font-weight:600}\
.within_spread{color:#0e5e1a}";

/// The page of a report as `report::build` makes it.
pub(super) fn page(report: &Value) -> String {
    let window = &report["window"];
    let title = format!(
        "Review of the move{}: {}",
        text(&report["name"]).map_or_else(String::new, |n| format!(" {n}")),
        text(&window["label"]).unwrap_or_default()
    );
    let mut page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{t}</title><style>{STYLE}{EXTRA_STYLE}</style></head><body>\n<h1>{t}</h1>\n\
         <p class=\"meta\">Made by <code>cutover report</code> on {generated}: from {from} to \
         {to}, each KPI against the same span in the {periods} period(s) before (shifted by \
         whole weeks). Hours are UTC.</p>\n",
        t = escape(&title),
        generated = escape(&plain(&report["generated"])),
        from = escape(&plain(&window["from"])),
        to = escape(&plain(&window["to"])),
        periods = plain(&report["baseline"]["periods"]),
    );
    kpis(&mut page, &report["kpis"]);
    volume(&mut page, &report["volume"]);
    for (title, key) in [
        ("Alerts", "alerts"),
        ("Actions", "actions"),
        ("Decisions", "decisions"),
    ] {
        audit(&mut page, title, &report[key]);
    }
    problems(&mut page, report);
    when_to_switch(&mut page, &report["when_to_switch"]);
    page.push_str("</body></html>\n");
    page
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::from("-"),
        other => other.to_string(),
    }
}

fn number(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| String::from("-"), |n| format!("{n:.2}"))
}

fn items(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

fn kpis(page: &mut String, rows: &Value) {
    page.push_str("<h2>KPIs against the baseline</h2>\n");
    for row in items(rows) {
        let channel = match (text(&row["wave"]), text(&row["channel"])) {
            (Some(wave), _) => format!("wave {wave}"),
            (None, Some(channel)) => channel,
            (None, None) => String::from("all channels"),
        };
        let _ = write!(
            page,
            "<h3>{} side, {}</h3>\n<table><tr><th>KPI</th><th class=\"n\">now</th>\
             <th class=\"n\">samples</th><th class=\"n\">baseline mean ± sd</th>\
             <th class=\"n\">periods</th><th class=\"n\">deviation</th><th>verdict</th></tr>\n",
            escape(&plain(&row["side"])),
            escape(&channel)
        );
        for k in items(&row["kpis"]) {
            let verdict = plain(&k["verdict"]);
            let why = text(&k["reason"]).map_or_else(String::new, |r| format!(": {}", escape(&r)));
            let deviation = k["deviation"]
                .as_f64()
                .map_or_else(|| String::from("-"), |d| format!("{:+.0} %", d * 100.0));
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{} ± {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"{}\">{}{why}</td></tr>",
                escape(&plain(&k["name"])),
                number(&k["now"]["value"]),
                plain(&k["now"]["samples"]),
                number(&k["baseline"]["mean"]),
                number(&k["baseline"]["std_dev"]),
                plain(&k["baseline"]["weeks"]),
                deviation,
                escape(&verdict),
                escape(&verdict.replace('_', " ")),
            );
        }
        page.push_str("</table>\n");
    }
}

/// Tickets created per bucket, each side: bars now, a line for the baseline.
fn volume(page: &mut String, volume: &Value) {
    let _ = writeln!(
        page,
        "<h2>Tickets created</h2>\n<p class=\"note\">Per {} hour(s): bars this window, the line \
         the mean of the earlier periods.</p>",
        plain(&volume["bucket_hours"])
    );
    for side in items(&volume["sides"]) {
        let buckets = items(&side["buckets"]);
        let peak = buckets
            .iter()
            .flat_map(|b| [b["created"].as_f64(), b["baseline"].as_f64()])
            .flatten()
            .fold(1.0_f64, f64::max);
        let (width, height) = (720.0, 140.0);
        #[expect(clippy::cast_precision_loss, reason = "a few hundred buckets")]
        let step = width / buckets.len().max(1) as f64;
        let _ = write!(
            page,
            "<h3>{} side</h3>\n<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {width} {h}\" \
             width=\"{width}\" height=\"{h}\" xmlns=\"http://www.w3.org/2000/svg\">\
             <title>Tickets created on the {} side</title>",
            escape(&plain(&side["side"])),
            escape(&plain(&side["side"])),
            h = height + 20.0,
        );
        let mut line = Vec::new();
        for (i, b) in buckets.iter().enumerate() {
            #[expect(clippy::cast_precision_loss, reason = "a few hundred buckets")]
            let x = i as f64 * step;
            let created = b["created"].as_f64().unwrap_or(0.0);
            let bar = created / peak * height;
            let _ = write!(
                page,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bar:.1}\" fill=\"#7bafd4\">\
                 <title>{}: {created}</title></rect>",
                height - bar,
                (step - 1.0).max(0.5),
                escape(&plain(&b["from"])),
            );
            let base = b["baseline"].as_f64().unwrap_or(0.0) / peak * height;
            line.push(format!("{:.1},{:.1}", x + step / 2.0, height - base));
        }
        let _ = writeln!(
            page,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#8a1c1c\" stroke-width=\"1.5\"/>\
             <text x=\"0\" y=\"{:.0}\" font-size=\"11\">peak {peak:.0}</text></svg>",
            line.join(" "),
            height + 15.0
        );
    }
}

fn audit(page: &mut String, title: &str, entries: &Value) {
    let entries = items(entries);
    let _ = writeln!(page, "<h2>{title}</h2>");
    if entries.is_empty() {
        page.push_str("<p class=\"note\">None in this window.</p>\n");
        return;
    }
    page.push_str("<table><tr><th>at</th><th>who</th><th>what</th><th>detail</th></tr>\n");
    for e in entries {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            escape(&plain(&e["at"])),
            escape(&plain(&e["actor"])),
            escape(&plain(&e["action"])),
            escape(&e["detail"].to_string()),
        );
    }
    page.push_str("</table>\n");
}

fn problems(page: &mut String, report: &Value) {
    let conflicts = &report["conflicts"];
    let _ = writeln!(
        page,
        "<h2>Conflicts</h2>\n<p>{} in this window, {} in all (<code>cutover conflicts list</code>).</p>",
        items(&conflicts["in_window"]).len(),
        plain(&conflicts["total"])
    );
    if !items(&conflicts["in_window"]).is_empty() {
        page.push_str("<table><tr><th>id</th><th>kind</th><th>field</th><th>rule</th><th>winner</th><th>at</th></tr>\n");
        for c in items(&conflicts["in_window"]) {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                plain(&c["id"]),
                escape(&plain(&c["kind"])),
                escape(&plain(&c["field"])),
                escape(&plain(&c["rule"])),
                escape(&plain(&c["winner"])),
                escape(&plain(&c["at"])),
            );
        }
        page.push_str("</table>\n");
    }
    let letters = &report["dead_letters"];
    let _ = writeln!(
        page,
        "<h2>Dead letters</h2>\n<p>{} open, {} new in this window \
         (<code>cutover deadletters list</code>).</p>",
        plain(&letters["open"]),
        plain(&letters["new_in_window"])
    );
    if !items(&letters["by_reason"]).is_empty() {
        page.push_str("<table><tr><th>kind</th><th>side</th><th class=\"n\">records</th><th>reason</th></tr>\n");
        for d in items(&letters["by_reason"]) {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                escape(&plain(&d["kind"])),
                escape(&plain(&d["side"])),
                plain(&d["count"]),
                escape(&plain(&d["reason"])),
            );
        }
        page.push_str("</table>\n");
    }
}

fn when_to_switch(page: &mut String, w: &Value) {
    let _ = writeln!(
        page,
        "<h2>When to switch</h2>\n<p class=\"note\">From the tickets created between {} and {}: \
         mean tickets per week in each hour of the week (UTC), darker is busier. Busy: {}.</p>",
        escape(&plain(&w["history"]["from"])),
        escape(&plain(&w["history"]["to"])),
        escape(&plain(&w["busy_from"]))
    );
    for c in items(&w["channels"]) {
        let label = |list: &Value| -> String {
            items(list)
                .iter()
                .map(|h| format!("{} ({})", plain(&h["label"]), number(&h["tickets"])))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            page,
            "<h3>{} ({} tickets)</h3>\n<p>Busiest: {}. Quietest: {}.</p>",
            escape(&plain(&c["channel"])),
            plain(&c["tickets"]),
            escape(&label(&c["busiest"])),
            escape(&label(&c["quietest"]))
        );
        let values: Vec<f64> = items(&c["per_hour"])
            .iter()
            .map(|v| v.as_f64().unwrap_or(0.0))
            .collect();
        heatmap(page, &plain(&c["channel"]), &values, |v| format!("{v:.2}"));
    }
    page.push_str("<h3>Recommended windows per wave</h3>\n<table><tr><th>wave</th><th>channels</th>\
                   <th>planned window</th><th>busy hours in it</th><th>quietest windows (tickets a week)</th></tr>\n");
    for wave in items(&w["waves"]) {
        let busy = match (&wave["busy_hours_in_window"], text(&wave["not_judged"])) {
            (Value::Array(hours), _) if hours.is_empty() => String::from("none"),
            (Value::Array(hours), _) => hours.iter().map(plain).collect::<Vec<_>>().join(", "),
            (_, Some(why)) => format!("not judged: {why}"),
            _ => String::from("-"),
        };
        let recommended: Vec<String> = items(&wave["recommended"])
            .iter()
            .map(|r| {
                format!(
                    "{} to {} ({})",
                    plain(&r["from"]),
                    plain(&r["to"]),
                    number(&r["tickets"])
                )
            })
            .collect();
        let channels: Vec<String> = items(&wave["channels"]).iter().map(plain).collect();
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&plain(&wave["name"])),
            escape(&channels.join(", ")),
            escape(&plain(&wave["window"])),
            escape(&busy),
            escape(&recommended.join("; "))
        );
    }
    page.push_str("</table>\n");
    let staffing = &w["staffing"];
    let _ = writeln!(
        page,
        "<h3>Staffing per hour (Erlang C)</h3>\n<p class=\"note\">Agents each hour needs to \
         answer {} with {} per contact, all channels together.</p>",
        escape(&plain(&staffing["service_level"])),
        escape(&plain(&staffing["handle_time"]))
    );
    let agents: Vec<f64> = items(&staffing["hours"])
        .iter()
        .map(|h| h["agents"].as_f64().unwrap_or(0.0))
        .collect();
    heatmap(page, "agents", &agents, |v| format!("{v:.0}"));
}

/// A 7 × 24 grid, Monday on top, each cell's value in its tooltip and, when it fits, inside.
fn heatmap(page: &mut String, name: &str, values: &[f64], show: impl Fn(f64) -> String) {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let peak = values.iter().copied().fold(0.0_f64, f64::max);
    let (cell, left, top) = (28.0, 36.0, 16.0);
    let _ = write!(
        page,
        "<svg class=\"heatmap\" role=\"img\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title>{n} by hour of the week</title>",
        w = left + 24.0 * cell,
        h = top + 7.0 * cell,
        n = escape(name),
    );
    for hour in (0..24).step_by(3) {
        let _ = write!(
            page,
            "<text x=\"{:.0}\" y=\"11\" font-size=\"10\">{hour:02}</text>",
            left + f64::from(hour) * cell
        );
    }
    for (d, day) in DAYS.iter().enumerate() {
        #[expect(clippy::cast_precision_loss, reason = "seven days")]
        let y = top + d as f64 * cell;
        let _ = write!(
            page,
            "<text x=\"0\" y=\"{:.0}\" font-size=\"11\">{day}</text>",
            y + cell * 0.65
        );
        for hour in 0..24 {
            let v = values.get(d * 24 + hour).copied().unwrap_or(0.0);
            let shade = if peak > 0.0 { v / peak } else { 0.0 };
            #[expect(clippy::cast_precision_loss, reason = "24 hours")]
            let x = left + hour as f64 * cell;
            let _ = write!(
                page,
                "<rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"{w:.0}\" height=\"{w:.0}\" \
                 fill=\"rgb(11,92,173)\" fill-opacity=\"{o:.3}\" stroke=\"#e4e7eb\">\
                 <title>{day} {hour:02}:00: {s}</title></rect>",
                w = cell - 1.0,
                o = 0.05 + 0.95 * shade,
                s = show(v),
            );
        }
    }
    page.push_str("</svg>\n");
}
