//! The platform-neutral data generator: people with names in many scripts, companies, ticket
//! subjects, comment texts, business-hours timestamps and attachment bytes. Everything is a pure
//! function of a seed and ids, so an emulator can store a few numbers per record and regenerate
//! bodies and bytes on demand instead of holding megabytes.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// SplitMix64's finaliser: a well-mixed 64-bit hash of `x`.
pub fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A generator for one entity: the same `(seed, stream, id)` always yields the same sequence.
pub fn rng_for(seed: u64, stream: u64, id: u64) -> StdRng {
    StdRng::seed_from_u64(mix64(
        seed ^ mix64(stream.wrapping_mul(0x1000_0001) ^ mix64(id)),
    ))
}

/// Picks one item.
pub fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

struct Script {
    first: &'static [&'static str],
    last: &'static [&'static str],
    /// Latin spellings for ASCII e-mail addresses.
    latin: &'static [&'static str],
    locale: &'static str,
    time_zone: &'static str,
    /// Internationalised mail domain, for addresses in the script itself.
    idn_domain: Option<&'static str>,
}

const SCRIPTS: &[Script] = &[
    Script {
        first: &[
            "Olivia", "Liam", "Emma", "Noah", "Ava", "James", "Sophia", "Lucas", "Mia", "Ethan",
        ],
        last: &[
            "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Walker",
        ],
        latin: &[
            "olivia", "liam", "emma", "noah", "ava", "james", "sophia", "lucas",
        ],
        locale: "en-US",
        time_zone: "America/New_York",
        idn_domain: None,
    },
    Script {
        first: &[
            "Jürgen", "Zoë", "Björn", "Søren", "Chloé", "Inès", "Łukasz", "Ðorđe", "Åsa",
        ],
        last: &[
            "Müller",
            "Ødegård",
            "Šimić",
            "Dupré",
            "Nuñez",
            "Kowalczyk",
            "Håkansson",
        ],
        latin: &[
            "juergen", "zoe", "bjoern", "soeren", "chloe", "ines", "lukasz", "asa",
        ],
        locale: "de",
        time_zone: "Europe/Berlin",
        idn_domain: Some("müller-beispiel.de"),
    },
    Script {
        first: &[
            "Анна",
            "Иван",
            "Мария",
            "Дмитрий",
            "Елена",
            "Сергей",
            "Ольга",
            "Алексей",
        ],
        last: &[
            "Иванова",
            "Петров",
            "Смирнова",
            "Кузнецов",
            "Попова",
            "Соколов",
            "Волкова",
        ],
        latin: &[
            "anna", "ivan", "maria", "dmitry", "elena", "sergey", "olga", "alexey",
        ],
        locale: "ru",
        time_zone: "Europe/Moscow",
        idn_domain: Some("пример.рф"),
    },
    Script {
        first: &["さくら", "健太", "陽菜", "大翔", "結衣", "蓮"],
        last: &["佐藤", "鈴木", "高橋", "田中", "渡辺", "伊藤"],
        latin: &["sakura", "kenta", "hina", "hiroto", "yui", "ren"],
        locale: "ja",
        time_zone: "Asia/Tokyo",
        idn_domain: Some("例え.jp"),
    },
    Script {
        first: &["伟", "芳", "娜", "敏", "静", "磊"],
        last: &["王", "李", "张", "刘", "陈", "杨"],
        latin: &["wei", "fang", "na", "min", "jing", "lei"],
        locale: "zh-cn",
        time_zone: "Asia/Shanghai",
        idn_domain: Some("例子.中国"),
    },
    Script {
        first: &["محمد", "فاطمة", "أحمد", "ليلى", "يوسف", "مريم"],
        last: &["العلي", "حسن", "الخطيب", "منصور", "الحداد"],
        latin: &["mohammed", "fatima", "ahmed", "layla", "youssef", "maryam"],
        locale: "ar",
        time_zone: "Asia/Riyadh",
        idn_domain: Some("مثال.السعودية"),
    },
    Script {
        first: &["Γιώργος", "Μαρία", "Νίκος", "Ελένη", "Δημήτρης"],
        last: &["Παπαδόπουλος", "Κωνσταντίνου", "Οικονόμου", "Γεωργίου"],
        latin: &["giorgos", "maria", "nikos", "eleni", "dimitris"],
        locale: "el",
        time_zone: "Europe/Athens",
        idn_domain: Some("παράδειγμα.ελ"),
    },
    Script {
        first: &["अनन्या", "राहुल", "प्रिया", "अर्जुन", "दिव्या"],
        last: &["शर्मा", "वर्मा", "गुप्ता", "सिंह", "पटेल"],
        latin: &["ananya", "rahul", "priya", "arjun", "divya"],
        locale: "hi",
        time_zone: "Asia/Kolkata",
        idn_domain: Some("उदाहरण.भारत"),
    },
];

/// A generated person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Display name, in its own script.
    pub name: String,
    /// A unique e-mail address (unique through `n`).
    pub email: String,
    /// The first name spelled in ASCII, for addresses that must be ASCII.
    pub handle: &'static str,
    /// Locale tag.
    pub locale: &'static str,
    /// IANA time zone.
    pub time_zone: &'static str,
}

/// A person numbered `n` (the number keeps e-mail addresses unique). About half are in a
/// non-Latin script; a share of those get an internationalised address in their script.
pub fn person(rng: &mut StdRng, n: u64) -> Person {
    let script = if rng.random_bool(0.45) {
        &SCRIPTS[0]
    } else {
        pick(rng, &SCRIPTS[1..])
    };
    let idx = rng.random_range(0..script.first.len());
    let first = script.first[idx];
    let last = pick(rng, script.last);
    let name = match script.locale {
        "ja" | "zh-cn" => format!("{last}{first}"),
        _ => format!("{first} {last}"),
    };
    let latin = script.latin[idx % script.latin.len()];
    let email = match script.idn_domain {
        Some(domain) if rng.random_bool(0.4) => format!("{}.{n}@{domain}", first.to_lowercase()),
        _ => format!(
            "{latin}.{n}@{}",
            pick(rng, &["example.com", "mail.example.org", "example.net"])
        ),
    };
    Person {
        name,
        email,
        handle: latin,
        locale: script.locale,
        time_zone: script.time_zone,
    }
}

/// A company name and its mail domain, numbered `n`.
pub fn company(rng: &mut StdRng, n: u64) -> (String, String) {
    const STEMS: &[(&str, &str)] = &[
        ("Acme", "acme"),
        ("Globex", "globex"),
        ("Initech", "initech"),
        ("Umbrella", "umbrella"),
        ("Hooli", "hooli"),
        ("Stark Industries", "stark"),
        ("Wonka", "wonka"),
        ("Tyrell", "tyrell"),
        ("Северсталь Трейд", "severstal"),
        ("山田商事", "yamada"),
        ("Ωmega Λogistics", "omega"),
        ("Müller & Söhne", "mueller"),
        ("شركة النخبة", "nukhba"),
        ("विकास टेक", "vikas"),
    ];
    const SUFFIXES: &[&str] = &["Ltd", "GmbH", "Inc.", "S.A.", "AG", "BV", "LLC"];
    let (stem, slug) = pick(rng, STEMS);
    let name = format!("{stem} {} {n}", pick(rng, SUFFIXES));
    (name, format!("{slug}{n}.example.com"))
}

const PRODUCTS: &[&str] = &[
    "the mobile app",
    "the dashboard",
    "my account",
    "the API",
    "checkout",
    "the printer",
];

/// A ticket subject.
pub fn subject(rng: &mut StdRng) -> String {
    let n = rng.random_range(1000..99999);
    let product = pick(rng, PRODUCTS);
    match rng.random_range(0..12) {
        0 => format!("Cannot log in to {product}"),
        1 => format!("Refund for order #{n}"),
        2 => format!("{} crashes on start", capitalise(product)),
        3 => format!("Question about invoice {n}"),
        4 => format!("Shipping delay for order #{n}"),
        5 => "Password reset e-mail never arrives".to_owned(),
        6 => format!("Feature request: export from {product}"),
        7 => format!("Не могу войти в аккаунт (заказ {n})"),
        8 => format!("注文番号{n}について"),
        9 => format!("مشكلة في الفاتورة رقم {n}"),
        10 => format!("Double charge on card ending {}", n % 10_000),
        _ => format!("Urgent: {product} is down"),
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

const CUSTOMER_LINES: &[&str] = &[
    "Hi there, I have a problem and would appreciate your help.",
    "It started happening yesterday after the update.",
    "I already tried restarting and clearing the cache.",
    "Could you please look into this as soon as possible?",
    "Здравствуйте! Ничего не работает уже второй день.",
    "よろしくお願いします。",
    "شكراً لمساعدتكم.",
    "Thanks in advance — this is blocking our whole team.",
    "The error message says \"unexpected <token> & stuff\".",
];

const AGENT_LINES: &[&str] = &[
    "Thanks for reaching out, I'm sorry for the trouble.",
    "I've escalated this to our engineering team.",
    "Could you send us a screenshot of the error?",
    "We've issued the refund; it should appear within 5 business days.",
    "This is fixed in the latest release, please update and let us know.",
    "I'm marking this as solved, reply to reopen it anytime.",
    "Internal: customer is on the enterprise plan, handle with priority.",
];

/// A comment's plain text and its HTML, a few paragraphs long.
pub fn comment_text(rng: &mut StdRng, from_customer: bool) -> (String, String) {
    let lines = if from_customer {
        CUSTOMER_LINES
    } else {
        AGENT_LINES
    };
    let n = rng.random_range(1..=4);
    let paragraphs: Vec<&str> = (0..n).map(|_| *pick(rng, lines)).collect();
    let plain = paragraphs.join("\n\n");
    let html = paragraphs
        .iter()
        .map(|p| format!("<p dir=\"auto\">{}</p>", html_escape(p)))
        .collect::<String>();
    (
        plain,
        format!("<div class=\"zd-comment\" dir=\"auto\">{html}</div>"),
    )
}

/// Escapes text for HTML.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// A Unix time between `start` and `end`, weighted towards weekdays and business hours.
pub fn business_time(rng: &mut StdRng, start: i64, end: i64) -> i64 {
    let end = end.max(start + 1);
    for _ in 0..8 {
        let t = rng.random_range(start..end);
        let day = (t.div_euclid(86_400) + 4).rem_euclid(7); // 0 = Sunday
        let hour = t.rem_euclid(86_400) / 3600;
        let weekday = (1..=5).contains(&day);
        let office = (8..18).contains(&hour);
        let keep = match (weekday, office) {
            (true, true) => 1.0,
            (true, false) => 0.35,
            (false, true) => 0.25,
            (false, false) => 0.1,
        };
        if rng.random_bool(keep) {
            return t;
        }
    }
    rng.random_range(start..end)
}

/// An attachment's metadata; its bytes come from [`attachment_bytes`] and have exactly `size`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentMeta {
    /// File name.
    pub file_name: String,
    /// MIME type.
    pub content_type: &'static str,
    /// Bytes.
    pub size: u64,
    /// Whether it is an inline image.
    pub inline: bool,
    kind: FileKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Png { width: u32, height: u32 },
    Text,
    Csv,
    Pdf,
}

/// The metadata of generated attachment `id` (inline ones are always PNG images).
pub fn attachment_meta(seed: u64, id: u64, inline: bool) -> AttachmentMeta {
    let mut rng = rng_for(seed, 0xA77A, id);
    let choice = if inline { 0 } else { rng.random_range(0..4) };
    let (kind, name, content_type) = match choice {
        0 => {
            let (width, height) = (rng.random_range(8..160), rng.random_range(8..120));
            (
                FileKind::Png { width, height },
                format!("screenshot-{id}.png"),
                "image/png",
            )
        }
        1 => (FileKind::Text, format!("log-{id}.txt"), "text/plain"),
        2 => (FileKind::Csv, format!("orders-{id}.csv"), "text/csv"),
        _ => (
            FileKind::Pdf,
            format!("invoice-{id}.pdf"),
            "application/pdf",
        ),
    };
    let size = match kind {
        FileKind::Png { width, height } => png_size(width, height),
        _ => rng.random_range(300..40_000),
    };
    AttachmentMeta {
        file_name: name,
        content_type,
        size,
        inline,
        kind,
    }
}

/// The bytes of generated attachment `id`: a real PNG, text, CSV or PDF file of `meta.size`.
pub fn attachment_bytes(seed: u64, id: u64, meta: &AttachmentMeta) -> Vec<u8> {
    let mut rng = rng_for(seed, 0xB17E, id);
    let size = usize::try_from(meta.size).unwrap_or(0);
    match meta.kind {
        FileKind::Png { width, height } => png(width, height, &mut rng),
        FileKind::Text => padded_text(&mut rng, size, b"", |rng, n| {
            format!(
                "2024-01-01T00:00:{:02}Z INFO request {n} took {} ms\n",
                n % 60,
                rng.random_range(1..900)
            )
        }),
        FileKind::Csv => padded_text(&mut rng, size, b"order_id,amount,currency\n", |rng, n| {
            format!(
                "{n},{}.{:02},EUR\n",
                rng.random_range(1..5000),
                rng.random_range(0..100)
            )
        }),
        FileKind::Pdf => pdf(size),
    }
}

fn padded_text(
    rng: &mut StdRng,
    size: usize,
    header: &[u8],
    mut line: impl FnMut(&mut StdRng, usize) -> String,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(header);
    let mut n = 0;
    while out.len() < size {
        out.extend_from_slice(line(rng, n).as_bytes());
        n += 1;
    }
    out.truncate(size);
    out
}

fn pdf(size: usize) -> Vec<u8> {
    let head = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n";
    let tail = b"trailer<</Root 1 0 R>>\n%%EOF\n";
    let mut out = head.to_vec();
    let filler = size.saturating_sub(head.len() + tail.len());
    while out.len() < head.len() + filler {
        let left = head.len() + filler - out.len();
        if left >= 2 {
            out.push(b'%');
            out.extend(std::iter::repeat_n(b'x', left.min(78) - 1));
            if out.len() < head.len() + filler {
                out.push(b'\n');
            }
        } else {
            out.push(b'\n');
        }
    }
    out.truncate(head.len() + filler);
    out.extend_from_slice(tail);
    out
}

fn png_size(width: u32, height: u32) -> u64 {
    let raw = u64::from(height) * (1 + 3 * u64::from(width));
    let blocks = raw.div_ceil(65_535).max(1);
    let zlib = 2 + raw + 5 * blocks + 4;
    8 + (12 + 13) + (12 + zlib) + 12
}

/// A real, uncompressed RGB PNG of a simple gradient.
fn png(width: u32, height: u32, rng: &mut StdRng) -> Vec<u8> {
    let (r0, g0, b0): (u8, u8, u8) = (rng.random(), rng.random(), rng.random());
    let mut raw = Vec::with_capacity(height as usize * (1 + 3 * width as usize));
    for y in 0..height {
        raw.push(0);
        for x in 0..width {
            raw.extend_from_slice(&[r0.wrapping_add(x as u8), g0.wrapping_add(y as u8), b0]);
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = if raw.is_empty() {
        vec![&[]]
    } else {
        raw.chunks(65_535).collect()
    };
    for (i, chunk) in chunks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == chunks.len()));
        let len = chunk.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(chunk);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"IDAT", &zlib);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFF_u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_people_and_non_latin_ones_exist() {
        let a: Vec<Person> = (0..50).map(|n| person(&mut rng_for(1, 2, n), n)).collect();
        let b: Vec<Person> = (0..50).map(|n| person(&mut rng_for(1, 2, n), n)).collect();
        assert_eq!(a, b);
        assert!(
            a.iter().any(|p| !p.name.is_ascii()),
            "some names are in other scripts"
        );
        assert!(
            a.iter().any(|p| !p.email.is_ascii()),
            "some addresses are internationalised"
        );
        let c: Vec<Person> = (0..50).map(|n| person(&mut rng_for(9, 2, n), n)).collect();
        assert_ne!(a, c, "another seed, other people");
    }

    #[test]
    fn attachments_have_their_announced_size_and_real_headers() {
        for id in 0..60 {
            let meta = attachment_meta(42, id, id % 5 == 0);
            let bytes = attachment_bytes(42, id, &meta);
            assert_eq!(bytes.len() as u64, meta.size, "{meta:?}");
            assert_eq!(bytes, attachment_bytes(42, id, &meta), "deterministic");
            match meta.content_type {
                "image/png" => assert_eq!(&bytes[..4], b"\x89PNG"),
                "application/pdf" => {
                    assert!(bytes.starts_with(b"%PDF-1.4"));
                    assert!(bytes.ends_with(b"%%EOF\n"));
                }
                "text/csv" => assert!(bytes.starts_with(b"order_id,")),
                _ => assert!(std::str::from_utf8(&bytes).is_ok()),
            }
        }
    }

    #[test]
    fn png_checksums_are_right() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn business_time_stays_in_range() {
        let mut rng = rng_for(3, 3, 3);
        for _ in 0..1000 {
            let t = business_time(&mut rng, 1_000_000, 2_000_000);
            assert!((1_000_000..2_000_000).contains(&t));
        }
    }
}
