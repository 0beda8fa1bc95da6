//! A ticket's brand (Zendesk) or product (Freshdesk) by name: the platforms give its id, the
//! canonical ticket carries its name. Each connector keeps the account's list, read on first
//! use and read again when a ticket names a brand it does not hold (one added since).

use std::sync::Mutex;

use cutover_model::PlatformId;
use cutover_model::records::Record;
use serde_json::Value;

use crate::connector::Page;

/// The account's brands or products: (id, name), read on first use.
#[derive(Debug, Default)]
pub(crate) struct BrandList {
    list: Mutex<Option<Vec<(String, String)>>>,
    /// Held while the list is read: writes that arrive together for a brand not known yet wait
    /// for one read instead of each reading the list.
    reading: tokio::sync::Mutex<()>,
}

impl BrandList {
    /// Waits until no other caller reads the list, and holds it until the guard is dropped.
    pub(crate) async fn reading(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.reading.lock().await
    }

    fn with<T>(&self, f: impl FnOnce(&mut Option<Vec<(String, String)>>) -> T) -> T {
        let mut guard = self.list.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Whether the list is read and names every one of `names` (ids or names, per `by_id`).
    pub(crate) fn knows(&self, values: &[String], by_id: bool) -> bool {
        self.with(|list| match list {
            None => false,
            Some(list) => values.iter().all(|v| {
                list.iter().any(|(id, name)| {
                    if by_id {
                        id == v
                    } else {
                        name.eq_ignore_ascii_case(v)
                    }
                })
            }),
        })
    }

    /// Keeps the account's list, read from its `items` (`id` and `name`).
    pub(crate) fn keep(&self, items: &[Value]) {
        let pairs = items
            .iter()
            .filter_map(|item| {
                let id = match item.get("id")? {
                    Value::Number(n) => n.to_string(),
                    Value::String(s) => s.clone(),
                    _ => return None,
                };
                let name = item.get("name")?.as_str()?.to_owned();
                Some((id, name))
            })
            .collect();
        self.with(|list| *list = Some(pairs));
    }

    /// Forgets the list: the next use reads it again (after a brand was added).
    pub(crate) fn forget(&self) {
        self.with(|list| *list = None);
    }

    /// The id of the brand named `name` (case aside), if the account has one.
    pub(crate) fn id_of(&self, name: Option<&str>) -> Option<PlatformId> {
        let name = name?;
        self.with(|list| {
            list.as_ref()?
                .iter()
                .find(|(_, n)| n.eq_ignore_ascii_case(name))
                .and_then(|(id, _)| PlatformId::parse(id.clone()).ok())
        })
    }

    /// Names the brand id of every ticket of `page`; an id the account does not list reads as
    /// no brand.
    pub(crate) fn name_tickets(&self, page: &mut Page) {
        self.with(|list| {
            for item in &mut page.items {
                if let Record::Ticket(ticket) = &mut item.record {
                    ticket.brand = ticket.brand.take().and_then(|id| {
                        list.as_ref()?
                            .iter()
                            .find(|(known, _)| *known == id)
                            .map(|(_, name)| name.clone())
                    });
                }
            }
        });
    }
}

/// The brand ids (as read, before naming) of the tickets of `page`.
pub(crate) fn ids_in(page: &Page) -> Vec<String> {
    page.items
        .iter()
        .filter_map(|item| match &item.record {
            Record::Ticket(ticket) => ticket.brand.clone(),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::BrandList;
    use serde_json::json;

    #[test]
    fn a_brand_is_known_by_id_and_found_by_name_case_aside() {
        let brands = BrandList::default();
        assert!(!brands.knows(&["7".into()], true), "nothing read yet");
        brands.keep(&[
            json!({"id": 7, "name": "Acme"}),
            json!({"id": "8", "name": "Outlet"}),
        ]);
        assert!(brands.knows(&["7".into(), "8".into()], true));
        assert!(!brands.knows(&["9".into()], true), "an id added since");
        assert!(brands.knows(&["acme".into()], false));
        assert_eq!(
            brands.id_of(Some("OUTLET")).map(String::from).as_deref(),
            Some("8")
        );
        assert_eq!(brands.id_of(Some("Shop")), None);
        brands.forget();
        assert!(!brands.knows(&["7".into()], true));
    }
}
